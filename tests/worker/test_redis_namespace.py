"""Two services made from this template share one Redis database and never meet (their names differ).

Every key goes under `Settings.redis_key_prefix` (from `APP_NAME`): the queue, job ids (and so
Arq's job, result and retry keys), cron job names, rate-limit counters, the health-check key.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from arq.connections import ArqRedis, create_pool
from arq.worker import get_kwargs
from redis.asyncio import Redis

from app.core.config import AppSettings, Rate, Settings
from app.core.rate_limit import hit
from app.schemas.jobs import JobName
from app.worker import WorkerSettings, queue
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)


def named(settings: Settings, name: str) -> Settings:
    return settings.model_copy(update={"app": AppSettings(_env_file=None, env=settings.app.env, name=name)})


@pytest.fixture
def orders(worker_settings: Settings) -> Settings:
    return named(worker_settings, "orders")


@pytest.fixture
def billing(worker_settings: Settings) -> Settings:
    return named(worker_settings, "billing")


@pytest.fixture
async def pool(worker_settings: Settings) -> AsyncIterator[ArqRedis]:
    """One connection to the shared database; each enqueue names its service's queue."""
    connection = await create_pool(
        queue.redis_settings(worker_settings), job_serializer=queue.serialize, job_deserializer=queue.deserialize
    )
    yield connection
    await connection.aclose()


async def test_a_worker_takes_only_its_own_services_jobs(orders: Settings, billing: Settings, pool: ArqRedis) -> None:
    outbox_id = uuid.uuid4()
    assert await queue.enqueue(pool, orders, [queue.QueuedJob(JobName.SEND_WELCOME_EMAIL, outbox_id)]) == {outbox_id}

    billing_worker = await run_burst(billing, queue_name=queue.queue_name(billing))
    assert (billing_worker.jobs_complete, billing_worker.jobs_failed, billing_worker.jobs_retried) == (0, 0, 0)
    assert await pool.zcard(queue.queue_name(orders)) == 1  # still waiting for its own worker

    orders_worker = await run_burst(orders, queue_name=queue.queue_name(orders))
    assert orders_worker.jobs_complete == 1
    assert await pool.zcard(queue.queue_name(orders)) == 0


async def test_the_same_job_id_in_two_services_is_two_jobs(orders: Settings, billing: Settings, pool: ArqRedis) -> None:
    """Arq dedupes by job id across the whole database: the ids must differ between services."""
    outbox_id = uuid.uuid4()
    assert await queue.enqueue(pool, orders, [queue.QueuedJob(JobName.SEND_WELCOME_EMAIL, outbox_id)]) == {outbox_id}
    assert await queue.enqueue(pool, billing, [queue.QueuedJob(JobName.SEND_WELCOME_EMAIL, outbox_id)]) == {outbox_id}
    assert not await queue.enqueue(
        pool, orders, [queue.QueuedJob(JobName.SEND_WELCOME_EMAIL, outbox_id)]
    )  # JOB-3 still holds


async def test_rate_limits_are_counted_per_service(orders: Settings, billing: Settings, redis: Redis) -> None:
    rate = Rate.model_validate("1/minute")
    for service in (orders, billing):
        decision = await hit(redis, prefix=service.redis_key_prefix, scope="signup", key="127.0.0.1", rate=rate)
        assert decision.allowed, service.app.name
    assert not (await hit(redis, prefix=orders.redis_key_prefix, scope="signup", key="127.0.0.1", rate=rate)).allowed


async def test_every_key_a_service_writes_carries_its_name(orders: Settings, pool: ArqRedis, redis: Redis) -> None:
    await queue.enqueue(pool, orders, [queue.QueuedJob(JobName.SEND_WELCOME_EMAIL, uuid.uuid4())])
    await hit(redis, prefix=orders.redis_key_prefix, scope="token", key="x", rate=Rate.model_validate("5/minute"))
    worker = await run_burst(orders, queue_name=queue.queue_name(orders), health_check_interval=0)
    assert worker.jobs_complete == 1

    keys = {key.decode() async for key in redis.scan_iter("*")}
    assert keys, "the service wrote nothing"
    assert all("orders:" in key for key in keys), sorted(keys)


def test_the_workers_settings_name_every_key_after_the_service(settings: Settings) -> None:
    kwargs: dict[str, Any] = get_kwargs(cast("Any", WorkerSettings))
    prefix = settings.redis_key_prefix
    assert kwargs["queue_name"] == f"{prefix}arq:queue"
    assert all(job.name.startswith(f"cron:{prefix}") for job in kwargs["cron_jobs"])
    assert queue.job_id(settings, uuid.UUID(int=0)).startswith(prefix)
