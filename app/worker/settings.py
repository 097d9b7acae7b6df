"""`WorkerSettings`: what `uv run python -m app.worker` (and `arq app.worker.WorkerSettings`) runs.

Arq reads these class attributes directly (not inherited ones), so every knob
is spelled out here, with the reason for its value.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, ClassVar
from wsgiref.simple_server import WSGIServer

import structlog
from arq import cron, func
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import start_http_server

from app.core import metrics as metrics_core
from app.core import tracing
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
tracer_provider = tracing.configure_from_environment(f"{settings.app.name}-worker")
logger = structlog.get_logger(__name__)


def build_startup(
    settings: Settings, *, resolver: Resolver = system_resolver, tracer_provider: TracerProvider | None = None
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """The start-up hook for `settings`: one set of resources per worker process, and the relay."""

    async def startup(ctx: dict[str, Any]) -> None:
        # arq's CLI gave its logger a handler of its own after ours was set up: one format for every line.
        adopt_logger("arq")
        stack = AsyncExitStack()
        resources = await stack.enter_async_context(
            open_resources(settings, application_name=f"{settings.app.name}-worker", tracer_provider=tracer_provider)
        )
        ctx[CONTEXT_KEY] = WorkerContext(
            settings=settings,
            resources=resources,
            mailer=SmtpMailer(settings.smtp, resources.tracer),
            resolver=resolver,
        )
        ctx["exit_stack"] = stack
        if settings.jobs.metrics_port is not None:
            server, thread = start_http_server(
                settings.jobs.metrics_port, addr=settings.jobs.metrics_host, registry=metrics_core.scrape_registry()
            )
            stack.push_async_callback(asyncio.to_thread, _stop_metrics_server, server, thread)
        ctx["relay"] = asyncio.create_task(
            relay.relay_forever(resources, ctx["redis"], settings.jobs), name="outbox-relay"
        )
        logger.info("worker started")

    return startup


def _stop_metrics_server(server: WSGIServer, thread: threading.Thread) -> None:
    """Blocks until the server's loop notices (up to half a second): run in a thread, off the event loop."""
    server.shutdown()
    server.server_close()
    thread.join()


async def shutdown(ctx: dict[str, Any]) -> None:
    relay_task: asyncio.Task[None] | None = ctx.get("relay")
    if relay_task is not None:
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
    stack: AsyncExitStack | None = ctx.get("exit_stack")
    if stack is not None:
        await stack.aclose()
    metrics_core.process_exited()
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
        # Named under the service's Redis prefix: `unique` is keyed by the name, and another
        # service on the same Redis database has crons of the same names.
        cron(
            upkeep.redispatch_lost_jobs,
            name=queue.cron_name(settings, "redispatch_lost_jobs"),
            second={0},
            unique=True,
            run_at_startup=True,
        ),
        cron(
            upkeep.delete_expired_records,
            name=queue.cron_name(settings, "delete_expired_records"),
            minute={17},
            second={0},
            unique=True,
        ),
        cron(
            upkeep.erase_deleted_accounts,
            name=queue.cron_name(settings, "erase_deleted_accounts"),
            minute={37},
            second={0},
            unique=True,
        ),
    ]
    on_startup = build_startup(settings, tracer_provider=tracer_provider)
    on_shutdown = shutdown
    redis_settings = queue.redis_settings(settings)
    # Every key Arq writes for this service (queue, health check, jobs) under the service's prefix.
    queue_name = queue.queue_name(settings)
    job_serializer = queue.serialize
    job_deserializer = queue.deserialize
    max_jobs = settings.jobs.max_concurrent_jobs
    job_timeout = settings.jobs.job_timeout_seconds
    max_tries = settings.jobs.max_tries
    # SIGTERM: let running jobs finish (a deploy must not cut an e-mail in half).
    job_completion_wait = settings.jobs.completion_wait_seconds
    # `arq --check` reads this key: refresh it often enough for a container health check.
    health_check_interval = settings.jobs.health_check_interval_seconds
    # No results: the outbox row is the record, and a kept result would make Arq refuse the same
    # job id when the row is dispatched again (a retry, a redispatch) for as long as it is kept.
    keep_result = 0
    poll_delay = 0.05
