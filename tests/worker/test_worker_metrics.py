"""Job counters by job name, served on the worker's own port (decision 0073)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from prometheus_client import REGISTRY

from app.core.config import JobSettings, Settings, SmtpSettings
from app.resources import Resources
from app.worker.relay import relay_once
from app.worker.settings import build_startup, shutdown
from tests.support.outages import closed_port
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst
from tests.worker.test_welcome_email import sign_up

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)
JOB = "send_welcome_email"


def count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counts() -> dict[str, float]:
    return {
        "started": count("worker_jobs_started_total", job=JOB),
        **{
            outcome: count("worker_jobs_finished_total", job=JOB, outcome=outcome)
            for outcome in ("succeeded", "retried", "failed")
        },
    }


def added(before: dict[str, float]) -> dict[str, float]:
    return {key: value - before[key] for key, value in counts().items()}


async def test_a_job_that_succeeds_is_counted(
    client: httpx.AsyncClient, worker_settings: Settings, resources: Resources, arq_pool: ArqRedis
) -> None:
    before = counts()
    await sign_up(client)
    await relay_once(resources, arq_pool, batch_size=10)
    await run_burst(worker_settings)
    assert added(before) == {"started": 1, "succeeded": 1, "retried": 0, "failed": 0}


async def test_a_job_that_fails_is_counted_as_retried(
    client: httpx.AsyncClient, settings: Settings, resources: Resources, arq_pool: ArqRedis
) -> None:
    before = counts()
    await sign_up(client)
    await relay_once(resources, arq_pool, batch_size=10)
    smtp_down = settings.model_copy(
        update={"smtp": SmtpSettings(_env_file=None, port=closed_port(), timeout_seconds=1)}
    )
    await run_burst(smtp_down, max_tries=1)
    assert added(before) == {"started": 1, "succeeded": 0, "retried": 1, "failed": 0}


async def test_the_worker_serves_its_metrics_on_its_own_port(settings: Settings, arq_pool: ArqRedis) -> None:
    port = closed_port()
    jobs = JobSettings(_env_file=None, metrics_port=port)
    ctx: dict[str, Any] = {"redis": arq_pool}
    await build_startup(settings.model_copy(update={"jobs": jobs}))(ctx)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
    finally:
        await shutdown(ctx)
    assert response.status_code == 200
    assert "worker_jobs_started_total" in response.text
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):  # closed with the worker
            await client.get(f"http://127.0.0.1:{port}/metrics")


async def test_the_last_try_is_counted_as_failed(
    client: httpx.AsyncClient, settings: Settings, resources: Resources, arq_pool: ArqRedis
) -> None:
    before = counts()
    await sign_up(client)
    await relay_once(resources, arq_pool, batch_size=10)
    smtp = SmtpSettings(_env_file=None, port=closed_port(), timeout_seconds=1)
    # The row's last attempt: no dispatch is left for a retry through the outbox.
    last_attempt = JobSettings(_env_file=None, max_tries=1, max_dispatches=1)
    one_try = settings.model_copy(update={"smtp": smtp, "jobs": last_attempt})
    await run_burst(one_try, max_tries=1)
    assert added(before) == {"started": 1, "succeeded": 0, "retried": 0, "failed": 1}
