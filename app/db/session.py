"""The unit of work: one session, one transaction, and the only `commit()` in the code base (DB-3).

Work that only reads gets a `read_only` session instead: no transaction and nothing to
commit. Under READ COMMITTED every statement takes its own snapshot anyway, so wrapping a
read in BEGIN/COMMIT buys no consistency, only two round trips (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState

from app.core.errors import AppError


class ReadOnlySessionError(RuntimeError):
    """Something tried to write through a read-only session: a safe request must not change data."""


_READ_ONLY = "read_only"
_REFUSAL = (
    "this session is read-only: it runs select() statements and nothing else; "
    "writes belong in a unit of work (a POST, PATCH or DELETE request)"
)


# Registered once on the sync Session class every AsyncSession drives; only sessions marked
# read-only in their `info` refuse. Their statements would run in AUTOCOMMIT, so a write
# would be committed at once, behind the unit of work's back: it must never reach the database.
@event.listens_for(AsyncSession.sync_session_class, "before_flush")
def _refuse_flush(session: object, flush_context: object, instances: object) -> None:  # noqa: ARG001
    if getattr(session, "info", {}).get(_READ_ONLY):
        raise ReadOnlySessionError(_REFUSAL)


@event.listens_for(AsyncSession.sync_session_class, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    if not state.is_select and state.session.info.get(_READ_ONLY):
        raise ReadOnlySessionError(_REFUSAL)


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


@asynccontextmanager
async def read_only(
    session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> AsyncIterator[AsyncSession]:
    """A session for work that only reads: its statements run on the engine's AUTOCOMMIT connections.

    There is no transaction, so there is nothing to commit or roll back; any attempt to
    write raises `ReadOnlySessionError` before a statement reaches the database.
    """
    async with session_factory(bind=engine, info={_READ_ONLY: True}) as session:
        yield session
