"""SQL for personal access tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.personal_access_token import PersonalAccessToken
from app.repositories.keyset import fetch_page
from app.schemas.page import KeysetCursor, KeysetPage


async def add(session: AsyncSession, token: PersonalAccessToken) -> PersonalAccessToken:
    session.add(token)
    await session.flush()
    await session.refresh(token)  # load server-side defaults (timestamps)
    return token


async def get_by_hash(session: AsyncSession, token_hash: str) -> PersonalAccessToken | None:
    return await session.scalar(select(PersonalAccessToken).where(PersonalAccessToken.token_hash == token_hash))


async def get_owned(session: AsyncSession, token_id: uuid.UUID, user_id: uuid.UUID) -> PersonalAccessToken | None:
    """Ownership is part of the query: another user's token is simply not found."""
    return await session.scalar(
        select(PersonalAccessToken).where(PersonalAccessToken.id == token_id, PersonalAccessToken.user_id == user_id)
    )


async def list_owned_page(
    session: AsyncSession, user_id: uuid.UUID, *, after: KeysetCursor | None, limit: int
) -> KeysetPage[PersonalAccessToken]:
    statement = select(PersonalAccessToken).where(PersonalAccessToken.user_id == user_id)
    return await fetch_page(
        session,
        statement,
        created_at=PersonalAccessToken.created_at,
        id_=PersonalAccessToken.id,
        after=after,
        limit=limit,
        newest_first=True,
    )


async def list_by_owner(session: AsyncSession, user_id: uuid.UUID) -> list[PersonalAccessToken]:
    """Every token of one user, oldest first (the account export)."""
    statement = (
        select(PersonalAccessToken)
        .where(PersonalAccessToken.user_id == user_id)
        .order_by(PersonalAccessToken.created_at, PersonalAccessToken.id)
    )
    return list(await session.scalars(statement))


async def delete_token(session: AsyncSession, token: PersonalAccessToken) -> None:
    await session.delete(token)
    await session.flush()


async def record_use(session: AsyncSession, token_id: uuid.UUID, at: datetime, *, at_most_every: timedelta) -> None:
    """Set `last_used_at` unless it was set less than `at_most_every` ago.

    The condition lives in the UPDATE itself, so the rule holds even when the Redis throttle
    in front of it has been flushed.
    """
    await session.execute(
        update(PersonalAccessToken)
        .where(
            PersonalAccessToken.id == token_id,
            or_(
                PersonalAccessToken.last_used_at.is_(None),
                PersonalAccessToken.last_used_at <= at - at_most_every,
            ),
        )
        .values(last_used_at=at)
    )


async def delete_expired(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(PersonalAccessToken).where(PersonalAccessToken.expires_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
