"""Passwords, access tokens and refresh tokens: the cryptography, free of web and database concerns.

- Passwords are hashed with argon2id through pwdlib; hashing and verifying run in a
  thread (`asyncio.to_thread`) because each costs tens of milliseconds of CPU.
- Access tokens are JWTs signed with an HMAC key; decoding names the one accepted
  algorithm and requires every claim we rely on.
- Refresh tokens are random strings; only their SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import AuthSettings, Settings

REQUIRED_CLAIMS = ("sub", "exp", "iat", "iss", "aud", "jti", "scope", "ver")
CLOCK_SKEW_SECONDS = 5


class InvalidTokenError(Exception):
    """Any reason an access token cannot be trusted. Callers answer them all the same way."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    user_id: uuid.UUID
    scopes: frozenset[str]
    credentials_version: int
    token_id: str


# --- passwords ---------------------------------------------------------------------------


@cache
def _password_hash(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHash:
    return PasswordHash((Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism),))


def _hasher(settings: AuthSettings) -> PasswordHash:
    return _password_hash(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


@cache
def _dummy_hash(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _password_hash(memory_kib, time_cost, parallelism).hash(secrets.token_urlsafe(16))


async def hash_password(password: str, settings: AuthSettings) -> str:
    return await asyncio.to_thread(_hasher(settings).hash, password)


async def verify_password(password: str, password_hash: str, settings: AuthSettings) -> bool:
    return await asyncio.to_thread(_hasher(settings).verify, password, password_hash)


async def verify_password_of_nobody(password: str, settings: AuthSettings) -> None:
    """Spend the same time as a real verification, so timing does not reveal unknown accounts."""
    params = (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
    dummy = await asyncio.to_thread(_dummy_hash, *params)
    await asyncio.to_thread(_hasher(settings).verify, password, dummy)


# --- access tokens -----------------------------------------------------------------------


def create_access_token(
    *, user_id: uuid.UUID, scopes: frozenset[str], credentials_version: int, settings: Settings
) -> AccessToken:
    now = datetime.now(UTC)
    ttl = settings.auth.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "iss": settings.auth.jwt_issuer,
        "aud": settings.auth.jwt_audience,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(sorted(scopes)),
        "ver": credentials_version,
    }
    token = jwt.encode(claims, settings.jwt_signing_key, algorithm=settings.auth.jwt_algorithm)
    return AccessToken(token=token, expires_in=ttl, scopes=scopes)


def decode_access_token(token: str, settings: Settings) -> AccessTokenClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_signing_key,
            algorithms=[settings.auth.jwt_algorithm],  # never taken from the token's own header
            audience=settings.auth.jwt_audience,
            issuer=settings.auth.jwt_issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": list(REQUIRED_CLAIMS)},
        )
        scope, version = claims["scope"], claims["ver"]
        if not isinstance(scope, str) or not isinstance(version, int) or isinstance(version, bool):
            raise InvalidTokenError("malformed claims")
        return AccessTokenClaims(
            user_id=uuid.UUID(str(claims["sub"])),
            scopes=frozenset(scope.split()),
            credentials_version=version,
            token_id=str(claims["jti"]),
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidTokenError(str(exc)) from exc


# --- refresh tokens ----------------------------------------------------------------------


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # A fast hash is right here: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()
