"""A frozen PostgreSQL (SIGSTOP: a partition, a stalled host) fails requests fast, and the service recovers.

Every wait on the database is bounded: connecting, the pool checkout, each statement
on the client (`DATABASE_COMMAND_TIMEOUT_SECONDS`). While the server is frozen, a
request is a 503 Problem Details with Retry-After within a few seconds; once it is
thawed, requests succeed again without a restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import PostgresDsn

from app.core.config import DatabaseSettings, Settings
from app.main import create_app
from tests.support.database import create_migrated_database
from tests.support.environment import settings_for_tests
from tests.support.postgres import INITDB, PG_CTL, PrivatePostgres, private_postgres
from tests.support.problems import assert_problem

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (INITDB and PG_CTL), reason="initdb/pg_ctl not found: no private PostgreSQL can be started"),
]

# Small bounds keep the test short; production defaults are larger but bounded the same way.
TIMEOUT_SECONDS = 1.0
# A checkout pings (one statement), may reconnect (connect timeout) and then runs the query.
BOUND_SECONDS = 4 * TIMEOUT_SECONDS + 2


@pytest.fixture
async def server() -> AsyncIterator[PrivatePostgres]:
    async with private_postgres() as postgres:
        await asyncio.to_thread(create_migrated_database, postgres.url)
        yield postgres


def settings_for(server: PrivatePostgres) -> Settings:
    database = DatabaseSettings(
        _env_file=None,
        url=PostgresDsn(server.url),
        pool_size=2,
        max_overflow=0,
        pool_timeout_seconds=TIMEOUT_SECONDS,
        connect_timeout_seconds=TIMEOUT_SECONDS,
        command_timeout_seconds=TIMEOUT_SECONDS,
        statement_timeout_ms=int(TIMEOUT_SECONDS * 1000),
        health_timeout_seconds=TIMEOUT_SECONDS,
    )
    return settings_for_tests(database=database)


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    async with asyncio.timeout(BOUND_SECONDS * 3):  # a hang fails the test instead of stalling the run
        response = await client.get(path)
    return response, time.monotonic() - started


async def test_a_frozen_database_is_a_fast_503_and_the_service_recovers(server: PrivatePostgres) -> None:
    app = create_app(settings_for(server))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert (await client.get("/v1/posts")).status_code == 200  # the pool holds a live connection
            server.freeze()
            try:
                results = await asyncio.gather(*(timed_get(client, "/v1/posts") for _ in range(4)))
                ready, ready_seconds = await timed_get(client, "/health/ready")
            finally:
                server.thaw()
            for response, seconds in results:
                assert_problem(response, 503, "service_unavailable")
                assert int(response.headers["retry-after"]) > 0
                assert seconds < BOUND_SECONDS, f"took {seconds:.1f}s"
            assert_problem(ready, 503, "service_unavailable")
            assert ready_seconds < BOUND_SECONDS

            # Thawed: the same process serves again, no restart.
            recovered = None
            for _ in range(20):
                recovered = await client.get("/v1/posts")
                if recovered.status_code == 200:
                    break
                await asyncio.sleep(0.25)
            assert recovered is not None
            assert recovered.status_code == 200, recovered.text
            assert (await client.get("/health/ready")).status_code == 200
