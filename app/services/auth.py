"""Sign-in, token issue and rotation, and resolving an access token to its user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import InvalidAccessToken, InvalidGrant, InvalidScope, RefreshTokenReplayed
from app.core.scopes import parse_scope_parameter
from app.core.security import (
    InvalidTokenError,
    create_access_token,
    decode_access_token,
    hash_refresh_token,
    new_refresh_token,
    verify_password,
    verify_password_of_nobody,
)
from app.models.refresh_token import RefreshToken
from app.models.user import User
from app.repositories import refresh_tokens as refresh_tokens_repository
from app.repositories import users as users_repository
from app.schemas.auth import TokenPair


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a bearer token: their account and the scopes this token may use."""

    user: User
    scopes: frozenset[str]
    # Set when the caller signed in with a personal access token rather than a password.
    personal_access_token_id: uuid.UUID | None = None


async def login(
    session: AsyncSession, *, email: str, password: str, scope: str | None, settings: Settings
) -> TokenPair:
    user = await _authenticate(session, email, password, settings)
    requested = parse_scope_parameter(scope)
    held = set(user.scopes)
    if not requested <= held:
        raise InvalidScope(f"Not granted to this account: {' '.join(sorted(requested - held))}.")
    granted = frozenset(requested or held)
    return await _issue(
        session, user, access_scopes=granted, refresh_scopes=granted, family_id=uuid.uuid4(), settings=settings
    )


async def refresh(session: AsyncSession, token: str, settings: Settings, *, scope: str | None = None) -> TokenPair:
    """Rotate a refresh token (RFC 6749 §6); `scope` may narrow the new access token, never widen it."""
    now = datetime.now(UTC)
    stored = await refresh_tokens_repository.get_by_hash_for_update(session, hash_refresh_token(token))
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise InvalidGrant
    if stored.used_at is not None:
        # Someone presents a token that was already rotated: it leaked. End the whole chain.
        await refresh_tokens_repository.revoke_family(session, stored.family_id, now)
        raise RefreshTokenReplayed
    user = await users_repository.get(session, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidGrant
    grant = frozenset(stored.scopes) & frozenset(user.scopes)
    requested = parse_scope_parameter(scope)
    if not requested <= grant:
        # Checked before the token is spent: a refused narrowing leaves the refresh token usable.
        raise InvalidScope(f"Not part of the original grant: {' '.join(sorted(requested - grant))}.")
    await refresh_tokens_repository.mark_used(session, stored, now)
    # The new refresh token keeps the whole grant (RFC 6749 §6); only the access token is narrowed.
    return await _issue(
        session,
        user,
        access_scopes=frozenset(requested or grant),
        refresh_scopes=grant,
        family_id=stored.family_id,
        settings=settings,
    )


async def logout(session: AsyncSession, token: str) -> None:
    """Revoke the token's whole family. Unknown tokens are ignored, as RFC 7009 asks."""
    stored = await refresh_tokens_repository.get_by_hash_for_update(session, hash_refresh_token(token))
    if stored is not None:
        await refresh_tokens_repository.revoke_family(session, stored.family_id, datetime.now(UTC))


async def resolve(session: AsyncSession, token: str, settings: Settings) -> Principal:
    """The live user behind an access token. Every failure is the same InvalidAccessToken."""
    try:
        claims = decode_access_token(token, settings)
    except InvalidTokenError:
        raise InvalidAccessToken from None
    user = await users_repository.get(session, claims.user_id)
    if user is None or not user.is_active or user.credentials_version != claims.credentials_version:
        raise InvalidAccessToken
    # Scopes removed from the account since the token was issued stop working at once.
    return Principal(user=user, scopes=claims.scopes & frozenset(user.scopes))


async def _authenticate(session: AsyncSession, email: str, password: str, settings: Settings) -> User:
    user = await users_repository.get_by_email(session, email)
    if user is None:
        # Same work, same answer: the response time must not tell whether the account exists.
        await verify_password_of_nobody(password, settings.auth)
        raise InvalidGrant("Incorrect e-mail or password.")
    if not await verify_password(password, user.password_hash, settings.auth) or not user.is_active:
        raise InvalidGrant("Incorrect e-mail or password.")
    return user


async def _issue(
    session: AsyncSession,
    user: User,
    *,
    access_scopes: frozenset[str],
    refresh_scopes: frozenset[str],
    family_id: uuid.UUID,
    settings: Settings,
) -> TokenPair:
    access = create_access_token(
        user_id=user.id, scopes=access_scopes, credentials_version=user.credentials_version, settings=settings
    )
    refresh_token = new_refresh_token()
    await refresh_tokens_repository.add(
        session,
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_refresh_token(refresh_token),
            scopes=sorted(refresh_scopes),
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.auth.refresh_token_ttl_seconds),
        ),
    )
    return TokenPair(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        scope=" ".join(sorted(access_scopes)),
    )
