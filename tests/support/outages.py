"""Resources whose database or Redis is down, swapped in with `dependency_overrides`.

Nothing here stops the shared servers: the broken resources point at a port
where nothing listens, or at a database that cancels every slow statement.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from pydantic import PostgresDsn, RedisDsn

from app.core.config import DatabaseSettings, RedisSettings, Settings
from app.db.engine import create_engine, create_session_factory
from app.resources import Resources, create_redis


def closed_port() -> int:
    """A local port with no listener: bind, read the number, release."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _settings_with(settings: Settings, **groups: object) -> Settings:
    return settings.model_copy(update=groups)


@asynccontextmanager
async def database_down(resources: Resources) -> AsyncIterator[Resources]:
    database = DatabaseSettings(
        _env_file=None,
        url=PostgresDsn(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/down"),
        connect_timeout_seconds=1,
    )
    engine = create_engine(database)
    try:
        yield replace(
            resources,
            settings=_settings_with(resources.settings, database=database),
            engine=engine,
            session_factory=create_session_factory(engine),
        )
    finally:
        await engine.dispose()


@asynccontextmanager
async def redis_down(resources: Resources) -> AsyncIterator[Resources]:
    redis_settings = RedisSettings(_env_file=None, url=RedisDsn(f"redis://127.0.0.1:{closed_port()}/0"))
    settings = _settings_with(resources.settings, redis=redis_settings)
    redis = create_redis(settings)
    try:
        yield replace(resources, settings=settings, redis=redis)
    finally:
        await redis.aclose()


@asynccontextmanager
async def database_with_statement_timeout(resources: Resources, timeout_ms: int) -> AsyncIterator[Resources]:
    database = resources.settings.database.model_copy(update={"statement_timeout_ms": timeout_ms})
    engine = create_engine(database)
    try:
        yield replace(resources, engine=engine, session_factory=create_session_factory(engine))
    finally:
        await engine.dispose()
