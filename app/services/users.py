"""Business rules for accounts: sign-up, self-service changes, administration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import AuthSettings
from app.core.errors import EmailTaken, FieldInvalid, NotFound
from app.core.scopes import DEFAULT_USER_SCOPES, SUPERUSER_SCOPES
from app.core.security import hash_password, verify_password
from app.models.user import User
from app.repositories import refresh_tokens as refresh_tokens_repository
from app.repositories import users as users_repository
from app.schemas.jobs import JobName, WelcomeEmail
from app.schemas.page import KeysetPage
from app.schemas.users import UserCreate, UserListQuery, UserSelfUpdate, UserUpdate
from app.services import outbox as outbox_service


async def register(session: AsyncSession, data: UserCreate, settings: AuthSettings) -> User:
    # Checked first so a taken address costs no password hashing; the unique index
    # still decides when two sign-ups race.
    if await users_repository.get_by_email(session, data.email) is not None:
        raise EmailTaken
    user = User(
        email=data.email,
        name=data.name,
        password_hash=await hash_password(data.password, settings),
        scopes=list(DEFAULT_USER_SCOPES),
    )
    try:
        user = await users_repository.add(session, user)
    except users_repository.DuplicateEmailError:
        raise EmailTaken from None
    # Same transaction as the account: no account without its e-mail, no e-mail without the account.
    await outbox_service.enqueue(session, JobName.SEND_WELCOME_EMAIL, WelcomeEmail(user_id=user.id))
    return user


async def ensure_superuser(
    session: AsyncSession, *, email: str, name: str, password: str, settings: AuthSettings
) -> tuple[User, bool]:
    """Create an administrator; an existing account is left untouched. Returns (user, created)."""
    existing = await users_repository.get_by_email(session, email)
    if existing is not None:
        return existing, False
    user = User(
        email=email,
        name=name,
        password_hash=await hash_password(password, settings),
        scopes=list(SUPERUSER_SCOPES),
    )
    return await users_repository.add(session, user), True


async def promote_to_superuser(session: AsyncSession, *, email: str) -> tuple[User, bool]:
    """Give an existing account the administrator scopes. Returns (user, changed)."""
    user = await users_repository.get_by_email(session, email)
    if user is None:
        raise NotFound("No user with this e-mail address.")
    missing = [scope for scope in SUPERUSER_SCOPES if scope not in user.scopes]
    if not missing:
        return user, False
    # A new list, not an in-place append: the ARRAY column is not tracked for mutation.
    user.scopes = [*user.scopes, *missing]
    return user, True


async def get(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await users_repository.get(session, user_id)
    if user is None:
        raise NotFound("No user with this id.")
    return user


async def get_for_update(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The user for a change, locked against other writers until the transaction ends; 404 if missing."""
    user = await users_repository.get_for_update(session, user_id)
    if user is None:
        raise NotFound("No user with this id.")
    return user


async def list_users(session: AsyncSession, query: UserListQuery) -> KeysetPage[User]:
    return await users_repository.list_page(session, q=query.q, after=query.cursor, limit=query.limit)


async def update_self(session: AsyncSession, user: User, data: UserSelfUpdate, settings: AuthSettings) -> User:
    if data.name is not None:
        user.name = data.name
    if data.password is not None:
        current = data.current_password or ""  # the schema already requires it with a new password
        if not await verify_password(current, user.password_hash, settings):
            raise FieldInvalid(
                "current_password", "The current password is incorrect.", error_type="invalid_current_password"
            )
        user.password_hash = await hash_password(data.password, settings)
        await _revoke_credentials(session, user)
    return await users_repository.save(session, user)


async def deactivate(session: AsyncSession, user: User) -> None:
    user.is_active = False
    await _revoke_credentials(session, user)
    await users_repository.save(session, user)


async def update(session: AsyncSession, user: User, data: UserUpdate) -> User:
    if data.name is not None:
        user.name = data.name
    if data.scopes is not None:
        user.scopes = sorted(set(data.scopes))
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        if not data.is_active:
            await _revoke_credentials(session, user)
    return await users_repository.save(session, user)


async def _revoke_credentials(session: AsyncSession, user: User) -> None:
    """Every access token and refresh token issued so far stops working."""
    await users_repository.bump_credentials_version(session, user)
    await refresh_tokens_repository.revoke_all_for_user(session, user.id, datetime.now(UTC))
