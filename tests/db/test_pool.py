"""The connection pool: waiters are served in arrival order, nothing is lost to a timeout or a
cancellation, and a database restart costs at most the requests already holding a dead connection
(DB-2, docs/decisions/0061-fair-connection-pool.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine
from app.db.pool import PING_AFTER_IDLE_SECONDS, FairAsyncPool
from app.resources import Resources


@pytest.fixture
async def one_connection(resources: Resources) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database whose pool holds exactly one connection."""
    database = resources.settings.database.model_copy(
        update={"pool_size": 1, "max_overflow": 0, "pool_timeout_seconds": 0.5}
    )
    engine = create_engine(database, application_name="pool-test")
    try:
        yield engine
    finally:
        await engine.dispose()


async def _queue_up(engine: AsyncEngine, name: str, served: list[str]) -> None:
    async with engine.connect() as connection:
        served.append(name)
        await connection.execute(text("SELECT 1"))


async def _until_waiting() -> None:
    """Long enough for every runnable task to reach the pool and start waiting on it."""
    await asyncio.sleep(0.02)


async def test_the_engine_uses_the_fair_pool(resources: Resources) -> None:
    assert isinstance(resources.engine.pool, FairAsyncPool)


async def test_waiters_are_served_in_arrival_order_and_a_newcomer_goes_last(one_connection: AsyncEngine) -> None:
    served: list[str] = []
    holder = await one_connection.connect()
    await holder.execute(text("SELECT 1"))
    waiters = []
    for number in range(5):
        waiters.append(asyncio.create_task(_queue_up(one_connection, f"waiter {number}", served)))
        await _until_waiting()

    # The holder gives the connection back and asks again at once, before the oldest waiter has run:
    # the stock pool lets it take the connection back; a fair pool puts it behind the five.
    await holder.close()
    await _queue_up(one_connection, "newcomer", served)
    await asyncio.gather(*waiters)

    assert served == [*(f"waiter {number}" for number in range(5)), "newcomer"]


async def test_a_waiter_that_times_out_takes_nothing_with_it(one_connection: AsyncEngine) -> None:
    holder = await one_connection.connect()
    await holder.execute(text("SELECT 1"))
    with pytest.raises(exc.TimeoutError):
        await one_connection.connect()
    await holder.close()

    async with one_connection.connect() as connection:  # the one connection is still there
        assert await connection.scalar(text("SELECT 1")) == 1
    assert one_connection.pool.checkedin() == 1  # type: ignore[attr-defined]


async def test_a_cancelled_waiter_takes_nothing_with_it(one_connection: AsyncEngine) -> None:
    holder = await one_connection.connect()
    await holder.execute(text("SELECT 1"))
    served: list[str] = []
    cancelled = asyncio.create_task(_queue_up(one_connection, "cancelled", served))
    await _until_waiting()
    after = asyncio.create_task(_queue_up(one_connection, "after", served))
    await _until_waiting()
    cancelled.cancel()
    await asyncio.sleep(0.01)  # the cancellation has reached the pool
    await holder.close()

    await asyncio.wait_for(after, timeout=2)
    assert served == ["after"]
    assert one_connection.pool.checkedin() == 1  # type: ignore[attr-defined]


async def _restart_as_the_app_sees_it(resources: Resources) -> None:
    """What a PostgreSQL restart does to the open connections: the server ends every one of them."""
    async with resources.engine.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await asyncio.sleep(0.1)  # the backends are gone once the server has processed the signals


async def test_a_restart_while_connections_idle_costs_no_request(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    assert (await client.get("/v1/posts")).status_code == 200
    await _restart_as_the_app_sees_it(resources)
    await asyncio.sleep(PING_AFTER_IDLE_SECONDS + 0.1)  # idle long enough to be pinged on checkout

    assert (await client.get("/v1/posts")).status_code == 200


async def test_a_restart_between_busy_requests_is_one_503_then_recovery(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    assert (await client.get("/v1/posts")).status_code == 200
    await _restart_as_the_app_sees_it(resources)

    # Used a moment ago, so not pinged: the request that draws the dead connection fails cleanly...
    first = await client.get("/v1/posts")
    assert first.status_code in {200, 503}, first.text
    if first.status_code == 503:
        assert first.headers["content-type"] == "application/problem+json"
    # ...and SQLAlchemy has recycled every connection older than the failure: the next ones succeed.
    statuses = [(await client.get("/v1/posts")).status_code for _ in range(5)]
    assert statuses == [200] * 5
