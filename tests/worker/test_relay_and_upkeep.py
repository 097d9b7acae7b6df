"""The outbox relay and the scheduled upkeep, against the real database and Redis (SPEC §5)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis, create_pool
from arq.constants import result_key_prefix
from arq.jobs import Job, JobStatus
from pydantic import RedisDsn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import RedisSettings, Settings
from app.core.mail import SmtpMailer
from app.models.idempotency_key import IdempotencyKey
from app.models.outbox import JobOutbox
from app.models.refresh_token import RefreshToken
from app.resources import Resources
from app.worker import queue
from app.worker.context import CONTEXT_KEY, WorkerContext
from app.worker.relay import relay_once
from app.worker.upkeep import delete_expired_records, redispatch_lost_jobs
from tests.support.factories import create_user
from tests.support.processes import private_redis

NOW = datetime.now(UTC)


def worker_ctx(settings: Settings, resources: Resources) -> dict[str, Any]:
    return {CONTEXT_KEY: WorkerContext(settings=settings, resources=resources, mailer=SmtpMailer(settings.smtp))}


async def add_rows(db_session: AsyncSession, count: int, **columns: Any) -> list[JobOutbox]:
    rows = [
        JobOutbox(job_name="send_welcome_email", payload={"user_id": str(uuid.uuid4())}, **columns)
        for _ in range(count)
    ]
    db_session.add_all(rows)
    await db_session.commit()
    return rows


async def test_relay_dispatches_due_rows_in_batches(
    resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    await add_rows(db_session, 5)
    [later] = await add_rows(db_session, 1, available_at=NOW + timedelta(hours=1))
    assert await relay_once(resources, arq_pool, batch_size=3) == 3
    assert await relay_once(resources, arq_pool, batch_size=3) == 2
    assert await relay_once(resources, arq_pool, batch_size=3) == 0  # the future row waits its turn

    db_session.expire_all()
    rows = list(await db_session.scalars(select(JobOutbox)))
    assert {row.dispatch_count for row in rows if row.id != later.id} == {1}
    assert (await db_session.get(JobOutbox, later.id)).dispatched_at is None  # type: ignore[union-attr]
    assert await arq_pool.zcard(queue.queue_name(resources.settings)) == 5


async def test_concurrent_relays_never_dispatch_a_row_twice(
    settings: Settings, resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    await add_rows(db_session, 60)
    results = await asyncio.gather(*(relay_once(resources, arq_pool, batch_size=10) for _ in range(8)))
    assert sum(results) == 60  # SKIP LOCKED: each relay took rows nobody else held
    db_session.expire_all()
    assert set(await db_session.scalars(select(JobOutbox.dispatch_count))) == {1}


async def test_a_row_the_queue_refuses_is_not_marked_dispatched(
    resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    [row] = await add_rows(db_session, 1)
    # Its job is already in the queue (an earlier relay enqueued it, then failed to commit).
    await arq_pool.enqueue_job(row.job_name, str(row.id), _job_id=queue.job_id(resources.settings, row.id))

    assert await relay_once(resources, arq_pool, batch_size=10) == 0
    db_session.expire_all()
    [refused] = await db_session.scalars(select(JobOutbox))
    assert (refused.dispatched_at, refused.dispatch_count) == (None, 0)  # offered again on the next pass


async def test_a_result_left_by_an_earlier_run_does_not_block_the_next_dispatch(
    resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    [row] = await add_rows(db_session, 1, dispatch_count=1, last_error="SMTPServerDisconnected()")
    # The failed first run's result, as Arq keeps it (keep_result) under the same job id.
    await arq_pool.set(result_key_prefix + queue.job_id(resources.settings, row.id), b"failed", ex=600)

    assert await relay_once(resources, arq_pool, batch_size=10) == 1
    job = Job(
        queue.job_id(resources.settings, row.id),
        arq_pool,
        _queue_name=queue.queue_name(resources.settings),
        _deserializer=queue.deserialize,
    )
    assert await job.status() == JobStatus.queued
    db_session.expire_all()
    assert list(await db_session.scalars(select(JobOutbox.dispatch_count))) == [2]


async def test_relay_with_redis_down_rolls_back_and_leaves_every_row_for_later(
    settings: Settings, resources: Resources, db_session: AsyncSession
) -> None:
    await add_rows(db_session, 3)
    async with private_redis() as server:
        with_private_redis = settings.model_copy(
            update={"redis": RedisSettings(_env_file=None, url=RedisDsn(server.url))}
        )
        pool = await create_pool(queue.redis_settings(with_private_redis))
        await server.stop()
        try:
            with pytest.raises(TimeoutError):
                await relay_once(resources, pool, batch_size=10, enqueue_timeout=1.0)
        finally:
            await pool.aclose()
    db_session.expire_all()
    assert set(await db_session.scalars(select(JobOutbox.dispatched_at))) == {None}


async def test_lost_jobs_are_redispatched_up_to_a_limit(
    settings: Settings, resources: Resources, db_session: AsyncSession
) -> None:
    long_ago = NOW - timedelta(hours=1)
    [lost] = await add_rows(db_session, 1, dispatched_at=long_ago, dispatch_count=1)
    [recent] = await add_rows(db_session, 1, dispatched_at=NOW, dispatch_count=1)
    [done] = await add_rows(db_session, 1, dispatched_at=long_ago, dispatch_count=1, processed_at=NOW)
    [hopeless] = await add_rows(
        db_session, 1, dispatched_at=long_ago, dispatch_count=settings.jobs.max_dispatches, last_error="boom"
    )

    assert await redispatch_lost_jobs(worker_ctx(settings, resources)) == 1
    db_session.expire_all()
    dispatched = {row.id: row.dispatched_at for row in await db_session.scalars(select(JobOutbox))}
    assert dispatched[lost.id] is None
    assert dispatched[recent.id] is not None
    assert dispatched[done.id] is not None
    assert dispatched[hopeless.id] is not None  # left for an operator, with its last_error


async def test_expired_records_are_deleted(settings: Settings, resources: Resources, db_session: AsyncSession) -> None:
    keep = settings.jobs.keep_processed_days
    await add_rows(db_session, 2, processed_at=NOW - timedelta(days=keep + 1))
    await add_rows(db_session, 1, processed_at=NOW - timedelta(days=keep - 1))
    await add_rows(db_session, 1)
    member = await create_user(db_session, settings)
    for expires_at in (NOW - timedelta(days=1), NOW + timedelta(days=1)):
        db_session.add(
            RefreshToken(
                user_id=member.user.id,
                family_id=uuid.uuid4(),
                token_hash=uuid.uuid4().hex * 2,
                scopes=[],
                expires_at=expires_at,
            )
        )
        db_session.add(
            IdempotencyKey(
                scope=f"user:{member.user.id}",
                key=str(uuid.uuid4()),
                fingerprint="0" * 64,
                status_code=201,
                response_headers={},
                response_body=b"{}",
                expires_at=expires_at,
            )
        )
    await db_session.commit()

    assert await delete_expired_records(worker_ctx(settings, resources)) == {
        "processed_jobs": 2,
        "refresh_tokens": 1,
        "account_tokens": 0,
        "personal_access_tokens": 0,
        "idempotency_keys": 1,
    }
    assert await db_session.scalar(select(func.count()).select_from(JobOutbox)) == 2
    assert await db_session.scalar(select(func.count()).select_from(RefreshToken)) == 1
    [live_key] = await db_session.scalars(select(IdempotencyKey))
    assert live_key.expires_at > NOW
