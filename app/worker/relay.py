"""The outbox relay: moves committed job rows to the queue (SPEC §5).

It runs inside every worker process. `FOR UPDATE SKIP LOCKED` lets several
workers relay side by side without handing out a row twice; the deterministic
job id makes a row that is relayed twice (a crash after enqueue, before commit)
a no-op in the queue. When Redis or PostgreSQL is down, the relay backs off and
tries again: rows wait in PostgreSQL, nothing is lost.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import structlog
from opentelemetry.trace import Span, SpanKind, use_span

from app.core import tracing
from app.core.config import JobSettings
from app.db.session import unit_of_work
from app.repositories import outbox as outbox_repository
from app.resources import Resources
from app.worker import queue

logger = structlog.get_logger(__name__)

MIN_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# The worker's Redis client retries forever (so the worker outlives an outage), but the relay
# must not wait inside a transaction that holds row locks: past this, it rolls back and backs off.
# One call queues the whole batch (one Redis script), so this bounds the batch, not a row.
ENQUEUE_TIMEOUT_SECONDS = 5.0


async def relay_once(
    resources: Resources, pool: queue.Pool, *, batch_size: int, enqueue_timeout: float = ENQUEUE_TIMEOUT_SECONDS
) -> int:
    """Dispatch one batch of due rows; returns how many were dispatched."""
    now = datetime.now(UTC)
    # The relay polls every few hundred milliseconds: its own statements are not traced (a root
    # trace per idle poll), only each row it hands over, in the trace of the request that wrote it.
    with tracing.untraced():
        async with unit_of_work(resources.session_factory) as session:
            rows = await outbox_repository.claim_due(session, now=now, limit=batch_size)
            if not rows:
                return 0
            accepted = await _enqueue_batch(resources, pool, rows, enqueue_timeout)
            # Only what the queue accepted is dispatched; a refused row stays due and is offered again.
            dispatched = [row.id for row in rows if row.id in accepted]
            await outbox_repository.mark_dispatched(session, dispatched, now=now)
    logger.debug("outbox rows dispatched", count=len(dispatched), refused=len(rows) - len(dispatched))
    return len(dispatched)


async def _enqueue_batch(
    resources: Resources, pool: queue.Pool, rows: list[outbox_repository.DueJob], enqueue_timeout: float
) -> set[uuid.UUID]:
    """Queue the whole batch in one call, each row with a producer span of its own in the trace that wrote it.

    One call, not one per row: each call is a Redis round trip, made while the batch's row
    locks are held. The spans are started first, since the job carries its span's
    traceparent (the job's span becomes a child of it, as a consumer of a producer's
    message), and ended once the queue has answered.
    """
    spans: list[Span] = []
    jobs: list[queue.QueuedJob] = []
    for row in rows:
        span = resources.tracer.start_span(
            f"enqueue {row.job_name}",
            context=tracing.context_from(row.traceparent),
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "arq", "messaging.message.id": str(row.id)},
            record_exception=False,
            set_status_on_exception=False,
        )
        spans.append(span)
        with use_span(span, end_on_exit=False):
            jobs.append(queue.QueuedJob(row.job_name, row.id, traceparent=tracing.current_traceparent()))
    try:
        async with asyncio.timeout(enqueue_timeout):
            return await queue.enqueue(pool, resources.settings, jobs)
    except BaseException as exc:
        # Nothing of the batch is known to be queued: every row's span failed, by the exception's type alone.
        for span in spans:
            with use_span(span, end_on_exit=False):
                tracing.mark_failed(exc)
        raise
    finally:
        for span in spans:
            span.end()


async def relay_forever(resources: Resources, pool: queue.Pool, settings: JobSettings) -> None:
    backoff = MIN_BACKOFF_SECONDS
    while True:
        try:
            dispatched = await relay_once(resources, pool, batch_size=settings.relay_batch_size)
        except Exception as exc:  # noqa: BLE001 - any outage: wait and retry; the rows are safe in PostgreSQL
            logger.warning("outbox relay failed; backing off", error=repr(exc), retry_in_seconds=backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            continue
        backoff = MIN_BACKOFF_SECONDS
        if dispatched < settings.relay_batch_size:
            await asyncio.sleep(settings.relay_idle_seconds)
