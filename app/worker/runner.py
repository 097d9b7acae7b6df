"""Running one outbox job: one session, one transaction, the effect and the "processed" mark together.

A job that runs twice (at-least-once delivery, a redispatch after a crash)
finds its row processed and returns: its effect happens once (JOB-3). The row
lock keeps a second copy waiting until the first has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from opentelemetry.trace import SpanKind
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tracing
from app.db.session import unit_of_work
from app.repositories import outbox as outbox_repository
from app.schemas.jobs import PAYLOADS, JobName, JobPayload
from app.worker import metrics, queue
from app.worker.context import WorkerContext, worker_context

logger = structlog.get_logger(__name__)

Handler = Callable[[WorkerContext, AsyncSession, Any], Awaitable[None]]
MAX_RETRY_DELAY_SECONDS = 300


async def run(
    ctx: dict[str, Any], job: JobName, outbox_id: str, handler: Handler, *, traceparent: str | None = None
) -> str:
    context = worker_context(ctx)
    attempt = int(ctx.get("job_try", 1))
    metrics.JOBS_STARTED.labels(job).inc()
    # A child of the relay's span, itself in the trace of the request that recorded the row (decision 0071).
    with (
        context.resources.tracer.start_as_current_span(
            f"job {job}",
            context=tracing.context_from(traceparent),
            kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "arq", "messaging.message.id": outbox_id, "job.attempt": attempt},
            record_exception=False,
            set_status_on_exception=False,
        ),
        tracing.failures_by_type(),
        structlog.contextvars.bound_contextvars(job=str(job), outbox_id=outbox_id, attempt=attempt),
    ):
        try:
            outcome = await _run_once(context, job, uuid.UUID(outbox_id), handler)
        except ValidationError as exc:
            # A payload that does not fit its schema will never fit: fail now, do not retry.
            metrics.JOBS_FINISHED.labels(job, "failed").inc()
            logger.exception("job payload invalid", errors=exc.errors(include_input=False))
            await _record_error(context, uuid.UUID(outbox_id), repr(exc))
            raise
        except Exception as exc:
            # Arq gives up after the last try: count that run as failed, the others as retried.
            last_try = attempt >= context.settings.jobs.max_tries
            metrics.JOBS_FINISHED.labels(job, "failed" if last_try else "retried").inc()
            delay = min(2**attempt, MAX_RETRY_DELAY_SECONDS)
            logger.warning("job failed; will retry", error=repr(exc), retry_in_seconds=delay, exc_info=exc)
            await _record_error(context, uuid.UUID(outbox_id), repr(exc))
            raise queue.retry_later(delay) from exc
        metrics.JOBS_FINISHED.labels(job, "succeeded").inc()
        return outcome


async def _run_once(context: WorkerContext, job: JobName, outbox_id: uuid.UUID, handler: Handler) -> str:
    async with unit_of_work(context.resources.session_factory) as session:
        row = await outbox_repository.get_for_update(session, outbox_id)
        if row is None:
            logger.warning("job has no outbox row")
            return "missing"
        with structlog.contextvars.bound_contextvars(request_id=row.request_id):
            if row.processed_at is not None:
                logger.info("job already processed")
                return "already processed"
            payload: JobPayload = PAYLOADS[job].model_validate(row.payload)
            await handler(context, session, payload)
            row.processed_at = datetime.now(UTC)
            row.last_error = None
            logger.info("job processed")
    return "processed"


async def _record_error(context: WorkerContext, outbox_id: uuid.UUID, error: str) -> None:
    """Keep the last failure on the row for operators; the job's own transaction was rolled back."""
    try:
        async with unit_of_work(context.resources.session_factory) as session:
            row = await outbox_repository.get_for_update(session, outbox_id)
            if row is not None:
                row.last_error = error[:2000]
    except Exception as exc:  # noqa: BLE001 - best effort: the retry matters more than the note
        logger.warning("could not record the job error", error=repr(exc))
