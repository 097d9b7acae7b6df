"""The one seam between this service and Arq.

Arq is in maintenance-only mode, so everything the rest of the code needs from
a queue goes through these few functions: a replacement touches this file and
app/worker/settings.py, nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from arq import Retry as ArqRetry
from arq.connections import ArqRedis, RedisSettings
from arq.constants import result_key_prefix
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.config import Settings, get_settings

# What the relay holds to enqueue; named here so nothing else imports Arq.
Pool = ArqRedis


def queue_name(settings: Settings) -> str:
    """This service's queue. Arq derives the worker's health-check key from it too.

    Under `Settings.redis_key_prefix`, so another service on the same Redis database,
    with a name of its own, never takes this one's jobs.
    """
    return f"{settings.redis_key_prefix}arq:queue"


def job_id(settings: Settings, outbox_id: uuid.UUID) -> str:
    """Deterministic: the same outbox row can never be queued twice at once (JOB-3).

    Arq keys a job, its result and its retry count by this id (`arq:job:<id>`, ...): the
    service's prefix keeps those apart from another service's on the same database.
    """
    return f"{settings.redis_key_prefix}outbox:{outbox_id}"


def cron_name(settings: Settings, name: str) -> str:
    """A cron job's name, `cron:<prefix><name>`; Arq builds the id of each run (`<name>:<time>`) from it."""
    return f"cron:{settings.redis_key_prefix}{name}"


def serialize(data: dict[str, Any]) -> bytes:
    # JSON, never pickle: whoever can write to Redis must not be able to run code in the worker.
    return orjson.dumps(data, default=str)


def deserialize(data: bytes) -> dict[str, Any]:
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise TypeError("a queued job must be a JSON object")
    return value


def redis_settings(settings: Settings) -> RedisSettings:
    """Connection settings that ride out a Redis restart instead of stopping the worker."""
    base = RedisSettings.from_dsn(str(settings.redis.url))
    base.conn_timeout = max(1, int(settings.redis.socket_timeout_seconds))
    base.conn_retries = 30
    base.conn_retry_delay = 1
    base.retry_on_timeout = True
    base.retry_on_error = [RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError]
    # Forever: an outage of any length delays jobs; it must never stop the worker.
    base.retry = Retry(ExponentialBackoff(cap=5, base=0.1), retries=-1)
    return base


class QueuedJob(NamedTuple):
    """One outbox row's job: its function, its row, and the trace it continues (when tracing is on)."""

    function: str
    outbox_id: uuid.UUID
    traceparent: str | None = None


async def enqueue(pool: ArqRedis, settings: Settings, jobs: Sequence[QueuedJob]) -> set[uuid.UUID]:
    """Queue each job; return the outbox ids the queue accepted.

    The contract the relay relies on: an id is in the result only when this call put its
    job in the queue, and only those rows may be marked dispatched. A row refused because
    its job is still queued or running stays undispatched, and the relay offers it again.

    A result left by an earlier run of the same job id (a failure, or a worker configured
    to keep results) would make Arq refuse the job for as long as it is kept, silently: it
    is deleted first. The outbox row, not Arq's result, says whether the work is done.
    `traceparent` travels as a keyword argument: the message's trace header.
    """
    accepted: set[uuid.UUID] = set()
    for function, outbox_id, traceparent in jobs:
        key = job_id(settings, outbox_id)
        # A keyword only when tracing is on, so jobs queued without it keep their old shape.
        trace_header: dict[str, Any] = {} if traceparent is None else {"traceparent": traceparent}
        await pool.delete(result_key_prefix + key)
        job = await pool.enqueue_job(
            function, str(outbox_id), _job_id=key, _queue_name=queue_name(settings), **trace_header
        )
        if job is not None:
            accepted.add(outbox_id)
    return accepted


def retry_later(delay_seconds: float) -> Exception:
    """The exception a job raises to be run again after `delay_seconds` (Arq retries only on this)."""
    return ArqRetry(defer=delay_seconds)


class HealthCheck:
    """What `arq --check app.worker.queue.HealthCheck` reads: where the worker's health key is.

    The same answer as `arq --check app.worker.WorkerSettings`, without importing the jobs and
    everything they use: the container health check runs it every few seconds, and this module
    loads in a fraction of the time.
    """

    redis_settings = redis_settings(get_settings())
    queue_name = queue_name(get_settings())
