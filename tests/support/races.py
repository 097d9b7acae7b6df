"""Concurrent requests against the app, each from its own client with its own database session.

`race` fires requests at once. On a quiet machine the first of them can finish its whole
transaction before the last one starts, which proves nothing; `held` makes the overlap certain:
the test holds a lock the requests need, waits until every one of them is blocked on it, then lets
them all go at the same instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import TextClause, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.resources import Resources
from tests.conftest import BASE_URL

WAIT_LIMIT_SECONDS = 10.0


async def send(app: FastAPI, request: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        return await client.request(**request)


async def race(app: FastAPI, requests: list[dict[str, Any]]) -> list[httpx.Response]:
    """Every request at once; the responses in the order of `requests`."""
    return list(await asyncio.gather(*(send(app, request) for request in requests)))


async def _backends_waiting_on_locks(connection: AsyncConnection) -> int:
    # Run outside a transaction (the engine's connections are in AUTOCOMMIT): PostgreSQL takes one
    # snapshot of pg_stat_activity per transaction, and a poll inside one would never see a change.
    statement = (
        select(func.count())
        .select_from(text("pg_stat_activity"))
        .where(text("datname = current_database() AND wait_event_type = 'Lock'"))
    )
    return int(await connection.scalar(statement) or 0)


@asynccontextmanager
async def holding(resources: Resources, lock: TextClause) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """Hold `lock` (a statement such as `SELECT … FOR UPDATE`) in a transaction of our own.

    Yields `until_blocked(n)`, which returns once `n` other transactions wait on a lock. Leaving the
    block rolls back, releasing the lock.
    """
    async with resources.session_factory() as holder, resources.engine.connect() as observer:
        await holder.execute(lock)

        async def until_blocked(count: int) -> None:
            async with asyncio.timeout(WAIT_LIMIT_SECONDS):
                # Polling: the database has nothing to notify us with.
                while await _backends_waiting_on_locks(observer) < count:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)

        try:
            yield until_blocked
        finally:
            await holder.rollback()


async def race_held(
    app: FastAPI, resources: Resources, requests: list[dict[str, Any]], *, lock: TextClause, blocked: int
) -> list[httpx.Response]:
    """`requests` at once while `lock` is held; released when `blocked` of them wait on it."""
    async with holding(resources, lock) as until_blocked:
        tasks = [asyncio.create_task(send(app, request)) for request in requests]
        await until_blocked(blocked)
    return list(await asyncio.gather(*tasks))
