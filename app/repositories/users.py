"""SQL for users. Functions take the session first and return ORM rows; they flush, never commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.errors import is_unique_violation
from app.models.user import User
from app.repositories.keyset import escape_like, fetch_page
from app.schemas.page import KeysetCursor, KeysetPage


class DuplicateEmailError(Exception):
    """The unique index on lower(email) refused a row."""


# Built once, at import: every authenticated request runs it, and a constant statement's cache key is
# computed once, where `session.get` builds and keys a new statement per call (docs/performance.md).
_BY_ID = select(User).where(User.id == bindparam("user_id"))


async def get(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.scalar(_BY_ID, {"user_id": user_id})


async def get_for_update(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The user, its row locked until the transaction ends (SELECT … FOR UPDATE).

    Writers of one account wait for each other here. `populate_existing`: the request has usually
    loaded this user already (to authenticate it), and that copy must take the locked row's values,
    or the write would be decided on what was read before the wait.
    """
    statement = select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def add(session: AsyncSession, user: User) -> User:
    session.add(user)
    try:
        # Flush now so a duplicate surfaces here, by name, not at commit time.
        await session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise DuplicateEmailError(user.email) from exc
        raise
    await session.refresh(user)  # load server-side defaults (timestamps)
    return user


async def save(session: AsyncSession, user: User) -> User:
    try:
        await session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):  # a new e-mail address another account took first
            raise DuplicateEmailError(user.email) from exc
        raise
    await session.refresh(user)  # updated_at is set by the database
    return user


async def list_page(
    session: AsyncSession, *, q: str | None, after: KeysetCursor | None, limit: int
) -> KeysetPage[User]:
    statement = select(User)
    if q:
        pattern = f"%{escape_like(q)}%"
        statement = statement.where(or_(User.email.ilike(pattern), User.name.ilike(pattern)))
    return await fetch_page(
        session, statement, created_at=User.created_at, id_=User.id, after=after, limit=limit, newest_first=False
    )


async def bump_credentials_version(session: AsyncSession, user: User) -> None:
    """Invalidate every access token issued so far; done in SQL so concurrent bumps both count."""
    await session.execute(
        update(User).where(User.id == user.id).values(credentials_version=User.credentials_version + 1)
    )
    await session.refresh(user)


async def claim_due_for_erasure(session: AsyncSession, *, now: datetime, limit: int) -> list[User]:
    """Deactivated accounts whose grace period is over; SKIP LOCKED lets two workers share the work."""
    statement = (
        select(User)
        .where(User.erasure_due_at <= now, User.is_active.is_(False))
        .order_by(User.erasure_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(statement))


async def delete_users(session: AsyncSession, user_ids: list[uuid.UUID]) -> int:
    """Delete accounts; their posts, webhooks, deliveries and tokens go with them (ON DELETE CASCADE)."""
    if not user_ids:
        return 0
    result = await session.execute(delete(User).where(User.id.in_(user_ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
