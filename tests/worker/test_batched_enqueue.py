"""`queue.enqueue` queues a whole batch in one Redis script, writing the jobs Arq's `enqueue_job` writes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import deserialize_job
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.resources import Resources
from app.schemas.jobs import JobName
from app.worker import queue
from app.worker.relay import relay_once
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst
from tests.worker.test_relay_and_upkeep import add_rows

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)

WELCOME = JobName.SEND_WELCOME_EMAIL


def jobs(count: int) -> list[queue.QueuedJob]:
    return [queue.QueuedJob(WELCOME, uuid.uuid4()) for _ in range(count)]


def count_commands(pool: ArqRedis, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every command the pool sends outside a pipeline: one per round trip."""
    sent: list[Any] = []
    original = pool.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        sent.append(args[0])
        return await original(*args, **options)

    monkeypatch.setattr(pool, "execute_command", counting)
    return sent


async def test_a_batch_is_one_round_trip(
    worker_settings: Settings, arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue.enqueue(arq_pool, worker_settings, jobs(1))  # the server has the script from here on
    batch = jobs(3)
    sent = count_commands(arq_pool, monkeypatch)
    assert await queue.enqueue(arq_pool, worker_settings, batch) == {job.outbox_id for job in batch}
    assert sent == ["EVALSHA"]


async def test_only_the_jobs_it_queued_are_accepted(worker_settings: Settings, arq_pool: ArqRedis) -> None:
    queued_before, *fresh = jobs(3)
    assert await queue.enqueue(arq_pool, worker_settings, [queued_before]) == {queued_before.outbox_id}
    # Still queued (or running): refused, as Arq refuses it; the others in the same batch go in.
    accepted = await queue.enqueue(arq_pool, worker_settings, [queued_before, *fresh])
    assert accepted == {job.outbox_id for job in fresh}
    assert await arq_pool.zcard(queue.queue_name(worker_settings)) == 3
    assert await queue.enqueue(arq_pool, worker_settings, []) == set()


async def test_a_result_left_by_an_earlier_run_is_deleted_and_the_job_queued(
    worker_settings: Settings, arq_pool: ArqRedis
) -> None:
    [job] = jobs(1)
    key = queue.job_id(worker_settings, job.outbox_id)
    await arq_pool.set(result_key_prefix + key, b"an earlier run's result", px=60_000)
    assert await queue.enqueue(arq_pool, worker_settings, [job]) == {job.outbox_id}
    assert not await arq_pool.exists(result_key_prefix + key)


async def test_the_job_is_the_one_arqs_enqueue_job_writes(worker_settings: Settings, arq_pool: ArqRedis) -> None:
    plain, traced = queue.QueuedJob(WELCOME, uuid.uuid4()), queue.QueuedJob(WELCOME, uuid.uuid4(), "00-trace")
    await queue.enqueue(arq_pool, worker_settings, [plain, traced])
    for job, kwargs in ((plain, {}), (traced, {"traceparent": "00-trace"})):
        key = queue.job_id(worker_settings, job.outbox_id)
        body = await arq_pool.get(job_key_prefix + key)
        assert body is not None
        score = await arq_pool.zscore(queue.queue_name(worker_settings), key)
        assert score is not None
        # Arq's own body: `enqueue_job` with no job try and the enqueue time as the score.
        expected = {"t": None, "f": WELCOME, "a": [str(job.outbox_id)], "k": kwargs, "et": int(score)}
        assert queue.deserialize(body) == expected
        assert deserialize_job(body, deserializer=queue.deserialize).function == WELCOME
        # Arq's expiry: a job that has not started within a day is dropped.
        assert (
            arq_pool.expires_extra_ms - 60_000 < await arq_pool.pttl(job_key_prefix + key) <= arq_pool.expires_extra_ms
        )


async def test_a_redis_that_lost_the_script_is_given_it_again(worker_settings: Settings, arq_pool: ArqRedis) -> None:
    await arq_pool.script_flush()
    batch = jobs(2)
    assert await queue.enqueue(arq_pool, worker_settings, batch) == {job.outbox_id for job in batch}


async def test_arqs_worker_runs_the_jobs(worker_settings: Settings, arq_pool: ArqRedis) -> None:
    await queue.enqueue(arq_pool, worker_settings, jobs(3))
    worker = await run_burst(worker_settings, queue_name=queue.queue_name(worker_settings))
    # Their outbox rows do not exist, so each job finds nothing to do and completes.
    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (3, 0, 0)


async def test_the_relay_queues_a_batch_with_one_call(
    resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_rows(db_session, 4)
    calls: list[int] = []
    original = queue.enqueue

    async def spy(pool: ArqRedis, settings: Settings, batch: list[queue.QueuedJob]) -> set[uuid.UUID]:
        calls.append(len(batch))
        return await original(pool, settings, batch)

    monkeypatch.setattr(queue, "enqueue", spy)
    assert await relay_once(resources, arq_pool, batch_size=10) == 4
    assert calls == [4]
