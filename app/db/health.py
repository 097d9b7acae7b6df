"""Readiness asks PostgreSQL directly, on a connection of its own (docs/decisions/0015-readiness-bypasses-the-pool.md).

A pool with no free connection means the process is busy, not that the database is
gone. Probing through the pool would report "not ready" under load, and a platform
that then stops sending traffic to every busy instance turns load into an outage.
So the probe opens one short-lived connection with the pool's own DSN and timeouts.
"""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from app.core.config import DatabaseSettings


async def ping_outside_the_pool(settings: DatabaseSettings) -> None:
    """Connect, run `SELECT 1`, disconnect, within the health timeout; raises if the database does not answer."""
    url = make_url(str(settings.url)).set(drivername="postgresql")
    async with asyncio.timeout(settings.health_timeout_seconds):
        connection = await asyncpg.connect(
            url.render_as_string(hide_password=False), server_settings={"application_name": "readiness"}
        )
        try:
            await connection.fetchval("SELECT 1")
        finally:
            await connection.close(timeout=settings.health_timeout_seconds)
