"""SQL for idempotency keys. Functions take the session first; they flush, never commit."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.idempotency_key import IdempotencyKey


def _lock_id(scope: str, key: str) -> int:
    # PostgreSQL's advisory locks are named by one signed 64-bit integer; idempotency keys are the
    # only user of them in this service. A collision would only make an unrelated key wait its turn.
    digest = hashlib.sha256(f"idempotency-key\n{scope}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_lock(session: AsyncSession, scope: str, key: str) -> bool:
    """Take the key's lock for the rest of the transaction; False at once if another transaction holds it.

    Transaction-level (`_xact_`): released by COMMIT or ROLLBACK, or when the connection drops, so a
    crashed request never leaves a key locked. It also works behind a transaction-mode pooler.
    """
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(_lock_id(scope, key)))))


async def get(session: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
    return await session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))


async def add(session: AsyncSession, row: IdempotencyKey) -> IdempotencyKey:
    session.add(row)
    await session.flush()
    return row


async def delete_one(session: AsyncSession, row: IdempotencyKey) -> None:
    await session.delete(row)
    await session.flush()


async def delete_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
