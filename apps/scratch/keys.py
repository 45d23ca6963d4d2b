"""Scratch keys: made once, shown once, kept only as a hash."""
import hashlib
import secrets

KEY_PREFIX = "riim_"  # says what the string is when a student pastes it somewhere
KEY_BYTES = 24  # 192 random bits
HINT_LENGTH = 4  # characters after the prefix shown on the page, so a student recognises their key


def scratch_key_generate() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def scratch_key_hash(key: str) -> str:
    """Return the SHA-256 of a key: random keys need no salt or slow hash to resist guessing."""
    return hashlib.sha256(key.encode()).hexdigest()


def scratch_key_hint(key: str) -> str:
    return key[: len(KEY_PREFIX) + HINT_LENGTH]
