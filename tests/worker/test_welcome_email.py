"""Sign-up → outbox → relay → queue → worker → SMTP, against real services (JOB-2..JOB-6, SPEC §5)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, SmtpSettings
from app.models.outbox import JobOutbox
from app.resources import Resources
from app.worker import queue
from app.worker.relay import relay_once
from tests.support.factories import UserCreateFactory
from tests.support.logs import events
from tests.support.outages import closed_port
from tests.support.smtp import Inbox
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)


async def sign_up(client: httpx.AsyncClient, request_id: str = "req-signup") -> dict[str, str]:
    response = await client.post(
        "/v1/auth/signup", json=UserCreateFactory.build().model_dump(), headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def outbox_row(db_session: AsyncSession) -> JobOutbox:
    db_session.expire_all()
    [row] = await db_session.scalars(select(JobOutbox))
    return row


async def test_the_request_enqueues_its_job_in_the_queue(
    client: httpx.AsyncClient, resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    user = await sign_up(client)
    assert await relay_once(resources, arq_pool, batch_size=10) == 1

    row = await outbox_row(db_session)
    job = Job(
        queue.job_id(resources.settings, row.id),
        arq_pool,
        _queue_name=queue.queue_name(resources.settings),
        _deserializer=queue.deserialize,
    )
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert info is not None
    assert (info.function, list(info.args)) == ("send_welcome_email", [str(row.id)])  # JSON has no tuples
    assert row.payload == {"user_id": user["id"]}
    assert row.dispatched_at is not None


async def test_the_worker_sends_the_welcome_email_once(
    client: httpx.AsyncClient,
    worker_settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    inbox: Inbox,
    db_session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await sign_up(client, request_id="req-welcome-1")
    await relay_once(resources, arq_pool, batch_size=10)
    with caplog.at_level(logging.INFO):
        await run_burst(worker_settings)

    [message] = inbox.to(user["email"])
    assert message["Subject"] == "Welcome!"
    assert message["From"] == worker_settings.smtp.from_
    assert user["name"] in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<strong>" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert (await outbox_row(db_session)).processed_at is not None
    # The request's id follows the work into the worker's log lines.
    [processed] = events(caplog, "job processed")
    assert processed["request_id"] == "req-welcome-1"


async def test_a_job_that_runs_twice_sends_once(
    client: httpx.AsyncClient,
    worker_settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    user = await sign_up(client)
    await relay_once(resources, arq_pool, batch_size=10)
    await run_burst(worker_settings)
    # At-least-once delivery: the same row queued again (a redispatch, a replayed message).
    row = await outbox_row(db_session)
    await arq_pool.enqueue_job("send_welcome_email", str(row.id), _job_id=f"again-{uuid.uuid4()}")
    await run_burst(worker_settings)
    assert len(inbox.to(user["email"])) == 1


async def test_a_failed_send_is_recorded_and_handed_back_for_a_later_retry(
    client: httpx.AsyncClient,
    settings: Settings,
    worker_settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    user = await sign_up(client)
    await relay_once(resources, arq_pool, batch_size=10)
    smtp_down = settings.model_copy(
        update={"smtp": SmtpSettings(_env_file=None, port=closed_port(), timeout_seconds=1)}
    )
    failed_at = datetime.now(UTC)
    await run_burst(smtp_down, max_tries=1)

    row = await outbox_row(db_session)
    assert row.processed_at is None
    assert row.last_error is not None
    assert "Connect" in row.last_error or "connect" in row.last_error
    assert inbox.to(user["email"]) == []
    # Back with the relay, due after a backoff: the retry does not depend on Arq keeping anything.
    assert row.dispatched_at is None
    assert row.available_at > failed_at
    assert row.dispatch_count == 1

    # Once the server answers and the retry is due, the mail goes out.
    await db_session.execute(update(JobOutbox).values(available_at=datetime.now(UTC)))
    await db_session.commit()
    assert await relay_once(resources, arq_pool, batch_size=10) == 1
    await run_burst(worker_settings)
    assert len(inbox.to(user["email"])) == 1
    row = await outbox_row(db_session)
    assert (row.processed_at is not None, row.dispatch_count, row.last_error) == (True, 2, None)


async def test_a_job_out_of_attempts_stays_failed_for_an_operator(
    client: httpx.AsyncClient, settings: Settings, resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    await sign_up(client)
    await db_session.execute(update(JobOutbox).values(dispatch_count=settings.jobs.max_dispatches - 1))
    await db_session.commit()
    await relay_once(resources, arq_pool, batch_size=10)
    smtp_down = settings.model_copy(
        update={"smtp": SmtpSettings(_env_file=None, port=closed_port(), timeout_seconds=1)}
    )
    await run_burst(smtp_down)

    row = await outbox_row(db_session)
    assert row.dispatch_count == settings.jobs.max_dispatches
    assert row.dispatched_at is not None  # not offered again, by the relay or by the redispatch cron
    assert row.processed_at is None
    assert row.last_error is not None


async def test_nothing_is_queued_for_a_rolled_back_request(
    client: httpx.AsyncClient, resources: Resources, arq_pool: ArqRedis
) -> None:
    body = UserCreateFactory.build().model_dump()
    await client.post("/v1/auth/signup", json=body)
    await client.post("/v1/auth/signup", json=body)  # 409: its job never existed
    assert await relay_once(resources, arq_pool, batch_size=10) == 1
