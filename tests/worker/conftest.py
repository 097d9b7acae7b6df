from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest
from arq.connections import ArqRedis, create_pool
from arq.worker import Worker, get_kwargs

from app.core.config import Settings, SmtpSettings
from app.worker import WorkerSettings, queue
from app.worker.settings import build_startup, shutdown
from tests.support.smtp import Inbox, smtp_server

# arq 0.28 (maintenance-only) closes its pool with redis-py's deprecated `close()`; nothing of ours to fix.
ARQ_CLOSE_WARNING = "ignore:Call to deprecated close:DeprecationWarning"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def worker_settings(settings: Settings, inbox: Inbox) -> Settings:
    smtp = SmtpSettings(_env_file=None, host=inbox.host, port=inbox.port)
    return settings.model_copy(update={"smtp": smtp})


@pytest.fixture
async def arq_pool(worker_settings: Settings) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(
        queue.redis_settings(worker_settings),
        job_serializer=queue.serialize,
        job_deserializer=queue.deserialize,
        default_queue_name=queue.queue_name(worker_settings),
    )
    yield pool
    await pool.aclose()


async def run_burst(settings: Settings, **overrides: Any) -> Worker:
    """Run the real WorkerSettings in this process until the queue is empty, then close it."""
    worker = _burst_worker(settings, **overrides)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


def _burst_worker(settings: Settings, **overrides: Any) -> Worker:
    options = {
        **get_kwargs(cast("Any", WorkerSettings)),
        "redis_settings": queue.redis_settings(settings),
        "on_startup": build_startup(settings),
        "on_shutdown": shutdown,
        "burst": True,
        "handle_signals": False,
        "poll_delay": 0.01,
        "cron_jobs": [],
        # One try: a failing job must fail the test now, not after arq's backoff.
        "max_tries": 1,
        **overrides,
    }
    return queue.BatchClaimWorker(**options)
