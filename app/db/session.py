"""The unit of work: one session, one transaction, and the only `commit()` in the code base (DB-3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import AppError


@asynccontextmanager
async def unit_of_work(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Commit when the block succeeds; roll back when anything escapes it.

    The one exception to "an error rolls back": an `AppError` whose
    `keep_changes` is true. The refusal itself is then the outcome that must be
    recorded, e.g. revoking a whole refresh-token family when a rotated token is
    replayed; rolling that back would undo the defence.
    """
    async with session_factory() as session:
        try:
            yield session
        except AppError as error:
            if error.keep_changes:
                await session.commit()
            raise
        await session.commit()
