"""Scheduled upkeep: re-dispatch lost jobs, delete what is no longer needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from app.db.session import unit_of_work
from app.repositories import account_tokens as account_tokens_repository
from app.repositories import idempotency_keys as idempotency_keys_repository
from app.repositories import outbox as outbox_repository
from app.repositories import personal_access_tokens as personal_access_tokens_repository
from app.repositories import refresh_tokens as refresh_tokens_repository
from app.services import users as users_service
from app.worker.context import worker_context

logger = structlog.get_logger(__name__)


async def redispatch_lost_jobs(ctx: dict[str, Any]) -> int:
    """Rows dispatched long ago and never processed (their job vanished with a Redis failure,
    or was cancelled by a timeout) go back to the relay, up to `JOBS_MAX_DISPATCHES` dispatches."""
    context = worker_context(ctx)
    settings = context.settings.jobs
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.redispatch_after_seconds)
    # With tracing on: one trace per run with its statements inside, not a root span per statement.
    with context.resources.tracer.start_as_current_span("cron redispatch_lost_jobs"):
        async with unit_of_work(context.resources.session_factory) as session:
            released = await outbox_repository.release_stale(
                session, dispatched_before=cutoff, max_dispatches=settings.max_dispatches
            )
    if released:
        logger.warning("lost jobs re-dispatched", count=released)
    return released


async def delete_expired_records(ctx: dict[str, Any]) -> dict[str, int]:
    context = worker_context(ctx)
    now = datetime.now(UTC)
    with context.resources.tracer.start_as_current_span("cron delete_expired_records"):
        async with unit_of_work(context.resources.session_factory) as session:
            jobs = await outbox_repository.delete_processed(
                session, processed_before=now - timedelta(days=context.settings.jobs.keep_processed_days)
            )
            tokens = await refresh_tokens_repository.delete_expired(session, before=now)
            account_tokens = await account_tokens_repository.delete_expired(session, before=now)
            personal_tokens = await personal_access_tokens_repository.delete_expired(session, before=now)
            # Requests ignore expired keys already; this only keeps the table small.
            keys = await idempotency_keys_repository.delete_expired(session, now=now)
    counts = {
        "processed_jobs": jobs,
        "refresh_tokens": tokens,
        "account_tokens": account_tokens,
        "personal_access_tokens": personal_tokens,
        "idempotency_keys": keys,
    }
    logger.info("expired records deleted", **counts)
    return counts


# Per hourly run, in one transaction; a longer queue drains over the next runs.
ERASURE_BATCH_SIZE = 500


async def erase_deleted_accounts(ctx: dict[str, Any]) -> int:
    """Erase the accounts their owners deleted, once the grace period is over (docs/account-lifecycle.md)."""
    context = worker_context(ctx)
    with context.resources.tracer.start_as_current_span("cron erase_deleted_accounts"):
        async with unit_of_work(context.resources.session_factory) as session:
            erased = await users_service.erase_due_accounts(
                session, now=datetime.now(UTC), batch_size=ERASURE_BATCH_SIZE
            )
    if erased:
        logger.info("deleted accounts erased", count=erased)
    return erased
