"""Running one outbox job: one session, one transaction, the effect and the "processed" mark together.

A job that runs twice (at-least-once delivery, a redispatch after a crash)
finds its row processed and returns: its effect happens once (JOB-3). The row
lock keeps a second copy waiting until the first has committed.

A job that fails is retried through its outbox row, not through Arq: the row goes
back to the relay with `available_at` pushed out by an exponential backoff, until
it succeeds or `JOBS_MAX_DISPATCHES` attempts are spent. The schedule lives in
PostgreSQL, so it survives restarts and Redis outages, and every job kind gets it.
Arq's own retries would give up after a few tries and leave the row waiting for
the redispatch cron (docs/jobs.md).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tracing
from app.core.config import JobSettings
from app.db.session import unit_of_work
from app.repositories import outbox as outbox_repository
from app.schemas.jobs import PAYLOADS, JobName, JobPayload
from app.worker import metrics, queue
from app.worker.context import WorkerContext, worker_context

logger = structlog.get_logger(__name__)

Handler = Callable[[WorkerContext, AsyncSession, Any], Awaitable[None]]
# The job's work gets this share of JOBS_JOB_TIMEOUT_SECONDS; the rest is left for scheduling
# its retry, so an overrun is a failure we retry rather than a job Arq cancels and forgets.
WORK_SHARE_OF_TIMEOUT = 0.8


async def run(
    ctx: dict[str, Any], job: JobName, outbox_id: str, handler: Handler, *, traceparent: str | None = None
) -> str:
    context = worker_context(ctx)
    row_id = uuid.UUID(outbox_id)
    metrics.JOBS_STARTED.labels(job).inc()
    # A child of the relay's span, itself in the trace of the request that recorded the row (decision 0071).
    with (
        context.resources.tracer.start_as_current_span(
            f"job {job}",
            context=tracing.context_from(traceparent),
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "arq", "messaging.message.id": outbox_id},
            record_exception=False,
            set_status_on_exception=False,
        ),
        tracing.failures_by_type(),
        structlog.contextvars.bound_contextvars(job=str(job), outbox_id=outbox_id),
    ):
        try:
            async with asyncio.timeout(context.settings.jobs.job_timeout_seconds * WORK_SHARE_OF_TIMEOUT):
                outcome = await _run_once(context, job, row_id, handler)
        except ValidationError as exc:
            # A payload that does not fit its schema will never fit: no retry.
            tracing.mark_failed(exc)
            metrics.JOBS_FINISHED.labels(job, "failed").inc()
            logger.exception("job payload invalid", errors=exc.errors(include_input=False))
            await _record_failure(context, row_id, repr(exc), retry=False)
            return "invalid payload"
        except Exception as exc:
            tracing.mark_failed(exc)
            logger.warning("job failed", error=repr(exc), exc_info=exc)
            retried = await _record_failure(context, row_id, repr(exc), retry=True)
            metrics.JOBS_FINISHED.labels(job, "retried" if retried else "failed").inc()
            return "failed"
        metrics.JOBS_FINISHED.labels(job, "succeeded").inc()
        return outcome


async def _run_once(context: WorkerContext, job: JobName, outbox_id: uuid.UUID, handler: Handler) -> str:
    async with unit_of_work(context.resources.session_factory) as session:
        row = await outbox_repository.get_for_update(session, outbox_id)
        if row is None:
            logger.warning("job has no outbox row")
            return "missing"
        with structlog.contextvars.bound_contextvars(request_id=row.request_id, attempt=row.dispatch_count):
            if row.processed_at is not None:
                logger.info("job already processed")
                return "already processed"
            payload: JobPayload = PAYLOADS[job].model_validate(row.payload)
            await handler(context, session, payload)
            row.processed_at = datetime.now(UTC)
            row.last_error = None
            logger.info("job processed")
    return "processed"


def retry_delay_seconds(attempt: int, settings: JobSettings) -> float:
    """Exponential with jitter, capped: a long outage is retried about every `retry_max_delay_seconds`."""
    ceiling = min(settings.retry_base_seconds * 2 ** max(attempt - 1, 0), settings.retry_max_delay_seconds)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography


async def _record_failure(context: WorkerContext, outbox_id: uuid.UUID, error: str, *, retry: bool) -> bool:
    """Keep the failure on the row and, while attempts remain, hand the row back to the relay for later.

    True when the job will run again; False when its attempts are spent.

    The job's own transaction was rolled back; this is a new one. If even this cannot be
    written (the database is down too), Arq is asked to run the job again instead.
    """
    settings = context.settings.jobs
    try:
        async with unit_of_work(context.resources.session_factory) as session:
            row = await outbox_repository.get_for_update(session, outbox_id)
            if row is None or row.processed_at is not None:
                return False
            row.last_error = error[:2000]
            if not retry:
                row.dispatch_count = max(row.dispatch_count, settings.max_dispatches)  # no attempts left
            if row.dispatch_count >= settings.max_dispatches:
                logger.error("job failed for good", attempts=row.dispatch_count, error=row.last_error)
                return False  # stays dispatched and unprocessed: the redispatch cron leaves it for an operator
            delay = retry_delay_seconds(row.dispatch_count, settings)
            row.dispatched_at = None
            row.available_at = datetime.now(UTC) + timedelta(seconds=delay)
            logger.info("job will be retried", attempt=row.dispatch_count, retry_in_seconds=round(delay, 2))
            return True
    except Exception as exc:
        logger.warning("could not schedule the job's retry; asking the queue instead", error=repr(exc))
        raise queue.retry_later(settings.retry_max_delay_seconds) from exc
