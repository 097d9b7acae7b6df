"""The database itself, before any migration: does it exist, and create it when it does not.

`alembic upgrade head` needs the database to exist; PostgreSQL does not create it on first
connection. `python -m app.cli create-database` calls this, and the migration environment
uses `missing_database_message` to explain a missing one instead of printing a traceback.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import DatabaseSettings

# Every PostgreSQL server has it; CREATE DATABASE runs from there.
MAINTENANCE_DATABASE = "postgres"


async def create_database(settings: DatabaseSettings) -> bool:
    """Create the database DATABASE_URL names, on the server it names. False when it already exists."""
    url = make_url(str(settings.url))
    name = url.database
    if not name:
        msg = "DATABASE_URL names no database"
        raise ValueError(msg)
    # CREATE DATABASE cannot run inside a transaction: AUTOCOMMIT.
    engine = create_async_engine(
        url.set(database=MAINTENANCE_DATABASE),
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": settings.connect_timeout_seconds},
    )
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(name)
            try:
                await connection.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError as exc:
                # Another process created it between the check and here: the outcome we wanted.
                if isinstance(exc.orig, asyncpg.DuplicateDatabaseError) or "already exists" in str(exc.orig):
                    return False
                raise
            return True
    finally:
        await engine.dispose()


def missing_database_message(error: BaseException, database_url: str) -> str | None:
    """What to tell the user when `error` means the database (or its server) is not there; else None."""
    url = make_url(database_url)
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    for cause in _causes(error):
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            return (
                f'The database "{url.database}" does not exist on the PostgreSQL server at {where}.\n'
                "Create it with:  uv run python -m app.cli create-database\n"
                "(or point DATABASE_URL at an existing database)."
            )
        if isinstance(cause, OSError):
            return (
                f"No PostgreSQL server answers at {where} ({cause}).\n"
                "Start one (`docker compose up -d postgres`) or point DATABASE_URL at yours."
            )
    return None


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and everything it wraps: SQLAlchemy's asyncpg adapter keeps the driver's error as a cause."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return found
