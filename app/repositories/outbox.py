"""SQL for the job outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ARRAY, Uuid, any_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.outbox import JobOutbox


async def add(session: AsyncSession, row: JobOutbox) -> JobOutbox:
    session.add(row)
    await session.flush()
    return row


async def get_for_update(session: AsyncSession, outbox_id: uuid.UUID) -> JobOutbox | None:
    # The row lock makes a second run of the same job wait, then see it processed.
    return await session.scalar(select(JobOutbox).where(JobOutbox.id == outbox_id).with_for_update())


class DueJob(NamedTuple):
    """What the relay needs of a due row to queue its job: no ORM object to build and track per row."""

    id: uuid.UUID
    job_name: str
    traceparent: str | None


async def claim_due(session: AsyncSession, *, now: datetime, limit: int) -> list[DueJob]:
    """Due rows no other relay holds: SKIP LOCKED lets several workers relay side by side."""
    statement = (
        select(JobOutbox.id, JobOutbox.job_name, JobOutbox.traceparent)
        .where(JobOutbox.dispatched_at.is_(None), JobOutbox.processed_at.is_(None), JobOutbox.available_at <= now)
        .order_by(JobOutbox.available_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [DueJob(*row) for row in await session.execute(statement)]


async def mark_dispatched(session: AsyncSession, ids: Sequence[uuid.UUID], *, now: datetime) -> None:
    """One statement for the whole batch (the rows are locked by `claim_due` in the same transaction)."""
    if ids:
        await session.execute(
            update(JobOutbox)
            # `= ANY($1)`: one array parameter, one statement text for any batch size.
            .where(JobOutbox.id == any_(bindparam("ids", list(ids), type_=ARRAY(Uuid))))
            .values(dispatched_at=now, dispatch_count=JobOutbox.dispatch_count + 1)
            .execution_options(synchronize_session=False)
        )


async def release_stale(session: AsyncSession, *, dispatched_before: datetime, max_dispatches: int) -> int:
    """Rows handed to the queue long ago and never processed go back to the relay.

    A row dispatched `max_dispatches` times stays where it is, with its
    `last_error`, for an operator to look at: retrying forever helps no one.
    """
    result = await session.execute(
        update(JobOutbox)
        .where(
            JobOutbox.dispatched_at.is_not(None),
            JobOutbox.processed_at.is_(None),
            JobOutbox.dispatched_at < dispatched_before,
            JobOutbox.dispatch_count < max_dispatches,
        )
        .values(dispatched_at=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def delete_processed(session: AsyncSession, *, processed_before: datetime) -> int:
    result = await session.execute(delete(JobOutbox).where(JobOutbox.processed_at < processed_before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def oldest_due_at(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the oldest row still waiting for the relay became due (the relay's own index serves it)."""
    statement = select(func.min(JobOutbox.available_at)).where(
        JobOutbox.dispatched_at.is_(None), JobOutbox.processed_at.is_(None), JobOutbox.available_at <= now
    )
    return await session.scalar(statement)
