"""One engine per process and the session factory bound to it (DB-2).

Pooled connections rest in AUTOCOMMIT, and every session that may write opens an
explicit READ COMMITTED transaction. Measured on this stack (docs/performance.md):
with the pool in transaction mode, SQLAlchemy's asyncpg pre-ping costs three round
trips per checkout (BEGIN, the ping, ROLLBACK) and a read three more (BEGIN, the
query, COMMIT); in AUTOCOMMIT the ping is one round trip and a read-only request
that runs one statement needs no BEGIN/COMMIT at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

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
        # Behind PgBouncer every statement needs a transaction around it (see `_connect_args`).
        isolation_level=TRANSACTION_ISOLATION if settings.pgbouncer else "AUTOCOMMIT",
        # A connection that died while idle (database restart, failover) is replaced
        # on checkout instead of failing the first request that draws it.
        pool_pre_ping=True,
        poolclass=FairAsyncPool,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        # Errors and logs never carry bind parameters: they hold password hashes, token hashes, secrets.
        hide_parameters=True,
        connect_args=_connect_args(settings, application_name),
    )


def _connect_args(settings: DatabaseSettings, application_name: str) -> dict[str, Any]:
    server_settings = {
        "application_name": application_name,
        # The server cancels runaway statements; the client is never left waiting.
        "statement_timeout": str(settings.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(settings.statement_timeout_ms * 6),
    }
    # Every wait on the database is bounded, so a frozen server fails requests fast (503)
    # instead of holding them: connecting, each statement (client-side `command_timeout`), the pool.
    bounded_waits = {"timeout": settings.connect_timeout_seconds, "command_timeout": settings.command_timeout_seconds}
    if not settings.pgbouncer:
        return {**bounded_waits, "server_settings": server_settings}
    # PgBouncer in transaction mode hands each transaction to any server connection:
    # - a prepared statement made on one may be missing (or taken) on the next, so neither
    #   asyncpg nor SQLAlchemy may cache one, and each gets a name no other can collide with
    #   (SQLAlchemy's asyncpg docs, "Prepared Statement Name with PGBouncer");
    # - asyncpg prepares and executes in two exchanges: outside a transaction PgBouncer may
    #   put them on two server connections, so the engine is not in AUTOCOMMIT (above);
    # - it refuses startup parameters it does not track: the timeouts are set on the role
    #   instead (`ALTER ROLE ... SET statement_timeout = ...`, docs/scaling.md).
    return {
        **bounded_waits,
        "server_settings": {"application_name": application_name},
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


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
