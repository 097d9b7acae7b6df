"""Recording jobs in the caller's transaction (JOB-2, JOB-3; SPEC §5).

Services call `enqueue` next to the change that causes the job. Nothing in a
request talks to Redis: the worker's relay moves the row to the queue after the
transaction commits, so a rolled-back request leaves no job behind and a Redis
outage only delays the job.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tracing
from app.models.outbox import JobOutbox
from app.repositories import outbox as outbox_repository
from app.schemas.jobs import PAYLOADS, JobName, JobPayload

logger = structlog.get_logger(__name__)


async def enqueue(
    session: AsyncSession, job: JobName, payload: JobPayload, *, available_at: datetime | None = None
) -> JobOutbox:
    if not isinstance(payload, PAYLOADS[job]):
        raise TypeError(f"{job} takes {PAYLOADS[job].__name__}, not {type(payload).__name__}")
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    row = JobOutbox(
        job_name=str(job),
        payload=payload.model_dump(mode="json"),
        # Carried into the job's log lines, so one id follows the work from request to worker.
        request_id=request_id if isinstance(request_id, str) else None,
        # Likewise the trace: stored in this transaction, continued by the relay and the job.
        traceparent=tracing.current_traceparent(),
    )
    if available_at is not None:
        row.available_at = available_at
    return await outbox_repository.add(session, row)


async def lag_seconds(session: AsyncSession, *, timeout_seconds: float = 1.0) -> float | None:
    """Age of the oldest due row no relay has taken (0 when none waits); None when the database did not answer.

    Computed from the table, not by the worker: it keeps growing while no worker runs.
    """
    now = datetime.now(UTC)
    try:
        async with asyncio.timeout(timeout_seconds):
            oldest = await outbox_repository.oldest_due_at(session, now=now)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        logger.warning("outbox lag unavailable", error=repr(exc))
        return None
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
