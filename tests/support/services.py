"""Checking, before any test runs, that PostgreSQL and Redis answer."""

from __future__ import annotations

import asyncio

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

PROBE_TIMEOUT_SECONDS = 3


async def _probe_postgres(database_url: str) -> str | None:
    dsn = make_url(database_url).set(drivername="postgresql", database="postgres")
    try:
        connection = await asyncpg.connect(dsn.render_as_string(hide_password=False), timeout=PROBE_TIMEOUT_SECONDS)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {dsn.render_as_string()} did not answer: {exc!r}"
    await connection.close()
    return None


async def _probe_redis(redis_url: str) -> str | None:
    client = Redis.from_url(redis_url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        return f"Redis at {redis_url} did not answer: {exc!r}"
    finally:
        await client.aclose()
    return None


def unreachable_services(database_url: str, redis_url: str) -> list[str]:
    async def probe() -> list[str | None]:
        return list(await asyncio.gather(_probe_postgres(database_url), _probe_redis(redis_url)))

    return [problem for problem in asyncio.run(probe()) if problem]
