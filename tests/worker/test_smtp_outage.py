"""An SMTP outage delays mail; it never loses it, and the mail goes out soon after the server is back.

A real worker process, a private Redis, and a real SMTP server that is missing, then comes
up on the port the worker was told to use. The retry settings are sped up; the bound on
the delay after recovery scales with them (a minute with the defaults).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.outbox import JobOutbox
from tests.support.environment import database_url_for_tests
from tests.support.factories import UserCreateFactory
from tests.support.outages import closed_port
from tests.support.processes import PrivateRedis, WorkerProcess, private_redis
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.slow

RETRY_MAX_DELAY_SECONDS = 1.0
# More attempts than Arq's own retries ever made (JOBS_MAX_TRIES=5) before they gave up.
ATTEMPTS_DURING_THE_OUTAGE = 8


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    async with private_redis() as server:
        yield server


async def welcome_row(db_session: AsyncSession) -> JobOutbox:
    db_session.expire_all()
    [row] = await db_session.scalars(select(JobOutbox))
    return row


async def test_mail_held_up_by_an_smtp_outage_goes_out_soon_after_it_ends(
    client: httpx.AsyncClient, redis_server: PrivateRedis, db_session: AsyncSession, tmp_path: Path
) -> None:
    smtp_port = closed_port()
    worker = WorkerProcess(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": redis_server.url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "SMTP_TIMEOUT_SECONDS": "1",
            "JOBS_RELAY_IDLE_SECONDS": "0.05",
            "JOBS_RETRY_BASE_SECONDS": "0.1",
            "JOBS_RETRY_MAX_DELAY_SECONDS": str(RETRY_MAX_DELAY_SECONDS),
        },
        tmp_path / "worker.log",
    )
    worker.start()
    try:
        body = UserCreateFactory.build().model_dump()
        assert (await client.post("/v1/auth/signup", json=body)).status_code == 201

        # The outage: every attempt fails, and the job keeps being retried, each time dispatched afresh.
        for _ in range(600):
            row = await welcome_row(db_session)
            if row.dispatch_count >= ATTEMPTS_DURING_THE_OUTAGE:
                break
            await asyncio.sleep(0.05)
        assert row.dispatch_count >= ATTEMPTS_DURING_THE_OUTAGE, worker.log()
        assert row.processed_at is None
        assert row.last_error is not None

        with smtp_server(port=smtp_port) as inbox:  # the outage ends
            recovered_at = time.monotonic()
            [message] = await inbox.wait_for(1, seconds=30)
            delay = time.monotonic() - recovered_at
            await asyncio.sleep(1)  # room for a duplicate to show up, if there were one
            assert [str(m["To"]) for m in inbox.messages] == [body["email"]]
        assert message["Subject"] == "Welcome!"
        # At most one backoff interval, plus a relay pass and the SMTP conversation.
        assert delay < RETRY_MAX_DELAY_SECONDS + 4, worker.log()
        row = await welcome_row(db_session)
        assert row.processed_at is not None
        assert row.last_error is None
        assert worker.alive(), worker.log()
    finally:
        worker.kill()
