"""Passwords the platform makes up for an account, written on paper or read aloud in class."""

import secrets

# No O/0, 1/l/I: the characters a teacher copying a list by hand, or a student typing it, confuses.
READABLE_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 10  # 56^10 ≈ 3·10^17: far beyond what the login lockout lets anyone try


def readable_password(length: int = LENGTH) -> str:
    """Return a random password without look-alike characters."""
    return "".join(secrets.choice(READABLE_ALPHABET) for _ in range(length))
