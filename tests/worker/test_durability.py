"""Jobs survive outages and process deaths (SPEC §5). Real processes, a private Redis, a real SMTP server."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import RedisDsn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_resources
from app.core.config import RedisSettings
from app.models.outbox import JobOutbox
from app.models.webhook import Webhook, WebhookDelivery
from app.resources import Resources, create_redis
from app.schemas.events import EventType
from app.services import events as events_service
from tests.support.environment import TEST_POOL_OVERFLOW, TEST_POOL_SIZE, database_url_for_tests
from tests.support.factories import UserCreateFactory, create_user
from tests.support.processes import PrivateRedis, WorkerProcess, private_redis
from tests.support.receiver import http_receiver
from tests.support.smtp import Inbox, smtp_server

pytestmark = pytest.mark.slow


@pytest.fixture
async def redis_server() -> AsyncIterator[PrivateRedis]:
    async with private_redis() as server:
        yield server


@pytest.fixture
def slow_inbox() -> Iterator[Inbox]:
    with smtp_server(delay_seconds=2.0) as server:
        yield server


def worker_environment(redis: PrivateRedis, inbox: Inbox) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "DATABASE_URL": database_url_for_tests(),
        "DATABASE_POOL_SIZE": str(TEST_POOL_SIZE),
        "DATABASE_MAX_OVERFLOW": str(TEST_POOL_OVERFLOW),
        "REDIS_URL": redis.url,
        "SMTP_HOST": inbox.host,
        "SMTP_PORT": str(inbox.port),
        "JOBS_RELAY_IDLE_SECONDS": "0.05",
        "JOBS_COMPLETION_WAIT_SECONDS": "10",
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",  # the receivers are on loopback
    }


@pytest.fixture
async def app_on_private_redis(
    app: FastAPI, resources: Resources, redis_server: PrivateRedis
) -> AsyncIterator[FastAPI]:
    """The API's rate limiter talks to the private Redis, so stopping it is felt by requests too."""
    settings = resources.settings.model_copy(
        update={"redis": RedisSettings(_env_file=None, url=RedisDsn(redis_server.url))}
    )
    redis = create_redis(settings)
    app.dependency_overrides[get_resources] = lambda: Resources(
        settings=settings,
        engine=resources.engine,
        session_factory=resources.session_factory,
        redis=redis,
        http=resources.http,
    )
    yield app
    await redis.aclose()


async def test_sign_ups_during_a_redis_outage_all_get_their_email_exactly_once(
    app_on_private_redis: FastAPI, client: httpx.AsyncClient, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    with smtp_server() as inbox:
        worker = WorkerProcess(worker_environment(redis_server, inbox), tmp_path / "worker.log")
        worker.start()
        try:
            await redis_server.stop()  # Redis dies while people sign up
            bodies = [UserCreateFactory.build().model_dump() for _ in range(5)]
            statuses = [(await client.post("/v1/auth/signup", json=body)).status_code for body in bodies]
            assert statuses == [201] * 5
            await asyncio.sleep(2)
            assert worker.alive(), worker.log()
            assert inbox.messages == []

            await redis_server.start()  # ...and comes back on the same port
            await inbox.wait_for(5, seconds=60)
            await asyncio.sleep(1.5)  # room for a duplicate to show up, if there were one
            assert sorted(str(message["To"]) for message in inbox.messages) == sorted(body["email"] for body in bodies)
            assert worker.alive(), worker.log()
        finally:
            worker.kill()


async def test_sigterm_lets_the_running_job_finish_and_exits_cleanly(
    client: httpx.AsyncClient, redis_server: PrivateRedis, slow_inbox: Inbox, tmp_path: Path, db_session: AsyncSession
) -> None:
    worker = WorkerProcess(worker_environment(redis_server, slow_inbox), tmp_path / "worker.log")
    worker.start()
    try:
        body = UserCreateFactory.build().model_dump()
        assert (await client.post("/v1/auth/signup", json=body)).status_code == 201
        for _ in range(600):  # until the job is in the middle of its (slow) SMTP conversation
            if slow_inbox.receiving:
                break
            await asyncio.sleep(0.05)
        assert slow_inbox.receiving == 1, worker.log()
        worker.signal(signal.SIGTERM)
        assert await worker.wait(seconds=30) == 0, worker.log()
    finally:
        worker.kill()
    # Not cancelled half-way: the job got its answer from the server and committed its row.
    [row] = await db_session.scalars(select(JobOutbox))
    assert row.processed_at is not None, worker.log()
    assert [message["To"] for message in slow_inbox.messages] == [body["email"]]


async def test_a_worker_killed_mid_fan_out_completes_every_delivery_after_restart(
    resources: Resources, redis_server: PrivateRedis, db_session: AsyncSession, tmp_path: Path
) -> None:
    member = await create_user(db_session, resources.settings)
    async with http_receiver(delay_seconds=0.5) as receiver:
        for number in range(10):
            db_session.add(
                Webhook(
                    user_id=member.user.id,
                    url=f"{receiver.base_url}/hook/{number}",
                    events=["post.published"],
                    secret="whsec_" + "A" * 32,
                )
            )
        await db_session.commit()
        async with resources.session_factory() as session:
            await events_service.emit(session, EventType.POST_PUBLISHED, {"title": "hello"})
            await session.commit()

        with smtp_server() as inbox:
            environment = {**worker_environment(redis_server, inbox), "JOBS_JOB_TIMEOUT_SECONDS": "3"}
            worker = WorkerProcess(environment, tmp_path / "worker.log")
            worker.start()
            for _ in range(600):  # until the fan-out is in flight
                if receiver.arrived >= 3:
                    break
                await asyncio.sleep(0.02)
            worker.signal(signal.SIGKILL)
            await worker.wait(seconds=10)
            assert len(receiver.requests) < 10, "the kill came too late to prove anything"

            restarted = WorkerProcess(environment, tmp_path / "worker.log")
            restarted.start()  # the killed job runs again once its in-progress mark expires (timeout + 10 s)
            try:
                for _ in range(1200):
                    db_session.expire_all()
                    statuses = list(await db_session.scalars(select(WebhookDelivery.status)))
                    if len(statuses) == 10 and set(statuses) == {"delivered"}:
                        break
                    await asyncio.sleep(0.05)
                assert statuses == ["delivered"] * 10, restarted.log()
            finally:
                restarted.kill()

    ids_by_path: dict[str, set[str]] = {}
    for request in receiver.requests:
        ids_by_path.setdefault(request.path, set()).add(request.headers["webhook-id"])
    assert len(ids_by_path) == 10
    assert all(len(ids) == 1 for ids in ids_by_path.values()), ids_by_path  # repeats carry the same id
