"""Driving the e-mail flows end to end: requests → outbox → relay → real worker → in-process SMTP."""

from __future__ import annotations

from arq.connections import ArqRedis

from app.core.config import Settings
from app.resources import Resources
from app.worker.relay import relay_once
from tests.worker.conftest import run_burst


async def deliver_mail(resources: Resources, arq_pool: ArqRedis, worker_settings: Settings) -> None:
    """Hand every recorded job to the queue and let the real worker run them all."""
    await relay_once(resources, arq_pool, batch_size=100)
    await run_burst(worker_settings)
