"""One-time e-mail tokens and personal access tokens: generating, hashing and recognising them.

Both are random secrets of 256 bits (`secrets.token_urlsafe(32)`) of which only a SHA-256
digest is stored. A fast hash is the right tool for values this random: a memory-hard
password hash (argon2) exists to slow down guessing of low-entropy secrets, and nothing
here can be guessed; it would only cost every request tens of milliseconds and make the
lookup by digest impossible (argon2 salts each hash).
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

TOKEN_BYTES = 32
# The marker that sits between the service's name and the secret: `service_pat_...`.
PAT_MARKER = "_pat_"


class TokenPurpose(StrEnum):
    """What a one-time token may be used for; a token works for its own purpose only."""

    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret


def new_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """The stored form of a token: hex SHA-256 (64 characters)."""
    return hashlib.sha256(token.encode()).hexdigest()


def pat_prefix(service_name: str) -> str:
    """`orders-api` -> `orders_api_pat_`: a fixed, greppable start that secret scanners can match."""
    return f"{service_name.replace('-', '_')}{PAT_MARKER}"


def new_personal_access_token(service_name: str) -> str:
    return f"{pat_prefix(service_name)}{new_secret()}"


def is_personal_access_token(token: str, service_name: str) -> bool:
    """Whether a bearer value is one of our PATs rather than a JWT (a JWT starts with `eyJ` and has dots)."""
    return token.startswith(pat_prefix(service_name)) and "." not in token
