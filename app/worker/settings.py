"""`WorkerSettings`: what `uv run arq app.worker.WorkerSettings` runs.

Arq reads these class attributes directly (not inherited ones), so every knob
is spelled out here, with the reason for its value.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, ClassVar

import structlog
from arq import cron, func

from app.core.config import Settings, get_settings
from app.core.logging import adopt_logger, configure_logging
from app.core.mail import SmtpMailer
from app.core.ssrf import Resolver, system_resolver
from app.resources import open_resources
from app.schemas.jobs import JobName
from app.worker import jobs, queue, relay, upkeep
from app.worker.context import CONTEXT_KEY, WorkerContext

settings = get_settings()
configure_logging(settings.app.env, settings.app.log_level)
logger = structlog.get_logger(__name__)


def build_startup(
    settings: Settings, *, resolver: Resolver = system_resolver
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The start-up hook for `settings`: one set of resources per worker process, and the relay."""

    async def startup(ctx: dict[str, Any]) -> None:
        # arq's CLI gave its logger a handler of its own after ours was set up: one format for every line.
        adopt_logger("arq")
        stack = AsyncExitStack()
        resources = await stack.enter_async_context(
            open_resources(settings, application_name=f"{settings.app.name}-worker")
        )
        ctx[CONTEXT_KEY] = WorkerContext(
            settings=settings, resources=resources, mailer=SmtpMailer(settings.smtp), resolver=resolver
        )
        ctx["exit_stack"] = stack
        ctx["relay"] = asyncio.create_task(
            relay.relay_forever(resources, ctx["redis"], settings.jobs), name="outbox-relay"
        )
        logger.info("worker started")

    return startup


async def shutdown(ctx: dict[str, Any]) -> None:
    relay_task: asyncio.Task[None] | None = ctx.get("relay")
    if relay_task is not None:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
    stack: AsyncExitStack | None = ctx.get("exit_stack")
    if stack is not None:
        await stack.aclose()
    logger.info("worker stopped")


class WorkerSettings:
    functions: ClassVar[list[Any]] = [
        func(jobs.send_welcome_email, name=JobName.SEND_WELCOME_EMAIL, timeout=settings.jobs.job_timeout_seconds),
        func(jobs.dispatch_event, name=JobName.DISPATCH_EVENT, timeout=settings.jobs.job_timeout_seconds),
        func(jobs.deliver_webhook, name=JobName.DELIVER_WEBHOOK, timeout=settings.jobs.job_timeout_seconds),
        func(
            jobs.send_verification_email,
            name=JobName.SEND_VERIFICATION_EMAIL,
            timeout=settings.jobs.job_timeout_seconds,
        ),
        func(
            jobs.send_password_reset_email,
            name=JobName.SEND_PASSWORD_RESET_EMAIL,
            timeout=settings.jobs.job_timeout_seconds,
        ),
        func(
            jobs.send_password_changed_email,
            name=JobName.SEND_PASSWORD_CHANGED_EMAIL,
            timeout=settings.jobs.job_timeout_seconds,
        ),
    ]
    cron_jobs: ClassVar[list[Any]] = [
        cron(upkeep.redispatch_lost_jobs, second={0}, unique=True, run_at_startup=True),
        cron(upkeep.delete_expired_records, minute={17}, second={0}, unique=True),
        cron(upkeep.erase_deleted_accounts, minute={37}, second={0}, unique=True),
    ]
    on_startup = build_startup(settings)
    on_shutdown = shutdown
    redis_settings = queue.redis_settings(settings)
    job_serializer = queue.serialize
    job_deserializer = queue.deserialize
    max_jobs = settings.jobs.max_concurrent_jobs
    job_timeout = settings.jobs.job_timeout_seconds
    max_tries = settings.jobs.max_tries
    # SIGTERM: let running jobs finish (a deploy must not cut an e-mail in half).
    job_completion_wait = settings.jobs.completion_wait_seconds
    # `arq --check` reads this key: refresh it often enough for a container health check.
    health_check_interval = settings.jobs.health_check_interval_seconds
    # Results only need to outlive the relay's duplicate window; the outbox row is the record.
    keep_result = 600
    poll_delay = 0.05
