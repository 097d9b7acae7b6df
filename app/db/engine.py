"""One engine per process and the session factory bound to it (DB-2)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import QueuePool

from app.core.config import DatabaseSettings


def create_engine(settings: DatabaseSettings, *, application_name: str = "service") -> AsyncEngine:
    return create_async_engine(
        str(settings.url),
        # A connection that died while idle (database restart, failover) is replaced
        # on checkout instead of failing the first request that draws it.
        pool_pre_ping=True,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        connect_args={
            "timeout": settings.connect_timeout_seconds,
            "server_settings": {
                "application_name": application_name,
                # The server cancels runaway statements; the client is never left waiting.
                "statement_timeout": str(settings.statement_timeout_ms),
                "idle_in_transaction_session_timeout": str(settings.statement_timeout_ms * 6),
            },
        },
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without another
    # round trip (and without an implicit lazy load, which async cannot do).
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Round-trip to the database; raises if it does not answer."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@dataclass(frozen=True, slots=True)
class PoolStatus:
    size: int
    checked_out: int
    overflow: int


def pool_status(engine: AsyncEngine) -> PoolStatus | None:
    """How full the connection pool is; None for pools that do not count (tests' NullPool)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    return PoolStatus(size=pool.size(), checked_out=pool.checkedout(), overflow=pool.overflow())
