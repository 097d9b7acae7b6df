"""SQL for one-time account tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.tokens import TokenPurpose
from app.models.account_token import AccountToken


async def add(session: AsyncSession, token: AccountToken) -> AccountToken:
    session.add(token)
    await session.flush()
    return token


async def consume(
    session: AsyncSession, *, token_hash: str, purpose: TokenPurpose, now: datetime
) -> AccountToken | None:
    """Mark an unused, unexpired token of this purpose used, and return it; None for any other token.

    One conditional UPDATE: of two requests racing with the same token, the second waits for
    the first's row lock, then finds `used_at` set and gets nothing back.
    """
    statement = (
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_hash,
            AccountToken.purpose == purpose.value,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(AccountToken)
    )
    return await session.scalar(statement)


async def delete_expired(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(AccountToken).where(AccountToken.expires_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
