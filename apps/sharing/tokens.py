"""The public model link's token: the only credential of the link, so long enough never to be guessed."""
import secrets

TOKEN_BYTES = 24  # 192 random bits (the link must carry at least 128), 32 URL-safe characters
TOKEN_LENGTH = 32


def link_token_generate() -> str:
    """Return a fresh URL-safe token of ``TOKEN_BYTES`` random bytes."""
    return secrets.token_urlsafe(TOKEN_BYTES)
