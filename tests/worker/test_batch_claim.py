"""`queue.BatchClaimWorker`: Arq's worker, claiming a poll's jobs in one Redis script, with Arq's checks."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

import pytest
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from arq.worker import get_kwargs

from app.core.config import Settings
from app.schemas.jobs import JobName
from app.worker import WorkerSettings, queue
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)


async def queued(pool: ArqRedis, settings: Settings, count: int) -> list[bytes]:
    batch = [queue.QueuedJob(JobName.SEND_WELCOME_EMAIL, uuid.uuid4()) for _ in range(count)]
    await queue.enqueue(pool, settings, batch)
    return [queue.job_id(settings, job.outbox_id).encode() for job in batch]


class RecordingWorker(queue.BatchClaimWorker):
    """Runs no job: `run_job` only records what it was handed."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.started: list[str] = []

    async def run_job(self, job_id: str, score: int) -> None:
        self.started.append(job_id)


def idle_worker(settings: Settings, pool: ArqRedis, **overrides: Any) -> RecordingWorker:
    options = {
        **get_kwargs(cast("Any", WorkerSettings)),
        "redis_pool": pool,
        "queue_name": queue.queue_name(settings),
        "handle_signals": False,
        "cron_jobs": [],
        **overrides,
    }
    return RecordingWorker(**options)


async def settle(worker: queue.BatchClaimWorker) -> None:
    await asyncio.gather(*worker.tasks.values())


async def test_two_workers_polling_the_same_ids_claim_each_job_once(
    worker_settings: Settings, arq_pool: ArqRedis
) -> None:
    ids = await queued(arq_pool, worker_settings, 20)
    first, second = idle_worker(worker_settings, arq_pool), idle_worker(worker_settings, arq_pool)
    await asyncio.gather(first.start_jobs(ids), second.start_jobs(list(reversed(ids))))
    await asyncio.gather(settle(first), settle(second))
    started = first.started + second.started
    assert sorted(started) == sorted(job_id.decode() for job_id in ids)
    # Each claimed job holds Arq's in-progress key, with Arq's time to live.
    time_to_live = await arq_pool.pttl(in_progress_key_prefix + started[0])
    assert 0 < time_to_live <= int(first.in_progress_timeout_s * 1000)


async def test_a_job_in_progress_finished_or_deferred_is_not_claimed(
    worker_settings: Settings, arq_pool: ArqRedis
) -> None:
    running, finished, deferred, free = await queued(arq_pool, worker_settings, 4)
    await arq_pool.set(in_progress_key_prefix + running.decode(), b"1")
    await arq_pool.zrem(queue.queue_name(worker_settings), finished)
    await arq_pool.zadd(queue.queue_name(worker_settings), {deferred: timestamp_ms() + 60_000})
    worker = idle_worker(worker_settings, arq_pool)
    await worker.start_jobs([running, finished, deferred, free])
    await settle(worker)
    assert worker.started == [free.decode()]


async def test_no_more_than_max_jobs_are_claimed(worker_settings: Settings, arq_pool: ArqRedis) -> None:
    ids = await queued(arq_pool, worker_settings, 5)
    worker = idle_worker(worker_settings, arq_pool, max_jobs=3)
    await worker.start_jobs(ids)
    assert (worker.job_counter, len(worker.tasks)) == (3, 3)
    await settle(worker)
    assert worker.job_counter == 0  # each finished job gives its place back
    assert not await arq_pool.exists(*(in_progress_key_prefix + job_id.decode() for job_id in ids[3:]))


async def test_the_real_worker_runs_a_batch(worker_settings: Settings, arq_pool: ArqRedis) -> None:
    await queued(arq_pool, worker_settings, 5)
    worker = await run_burst(worker_settings)
    assert isinstance(worker, queue.BatchClaimWorker)
    # Their outbox rows do not exist: each job finds nothing to do and completes.
    assert (worker.jobs_complete, worker.jobs_failed) == (5, 0)
