"""One engine per process and the session factory bound to it (DB-2).

Pooled connections rest in AUTOCOMMIT, and every session that may write opens an
explicit READ COMMITTED transaction. Measured on this stack (docs/performance.md):
with the pool in transaction mode, SQLAlchemy's asyncpg pre-ping costs three round
trips per checkout (BEGIN, the ping, ROLLBACK) and a read three more (BEGIN, the
query, COMMIT); in AUTOCOMMIT the ping is one round trip and a read-only request
that runs one statement needs no BEGIN/COMMIT at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import QueuePool

from app.core.config import DatabaseSettings
from app.db.pool import FairAsyncPool

TRANSACTION_ISOLATION = "READ COMMITTED"


def create_engine(settings: DatabaseSettings, *, application_name: str = "service") -> AsyncEngine:
    return create_async_engine(
        str(settings.url),
        # Outside a unit of work nothing runs in a transaction: the pre-ping below is then a
        # single round trip. Sessions that may write get their transaction from
        # `create_session_factory`; read-only requests run their statements as they are.
        isolation_level="AUTOCOMMIT",
        # A connection that died while idle (database restart, failover) is replaced
        # on checkout instead of failing the first request that draws it.
        pool_pre_ping=True,
        poolclass=FairAsyncPool,
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
    """Sessions for a unit of work: one READ COMMITTED transaction each, committed by its owner (DB-3)."""
    # expire_on_commit=False: objects stay readable after commit without another
    # round trip (and without an implicit lazy load, which async cannot do).
    return async_sessionmaker(engine.execution_options(isolation_level=TRANSACTION_ISOLATION), expire_on_commit=False)


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
