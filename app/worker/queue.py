"""The one seam between this service and Arq.

Arq is in maintenance-only mode, so everything the rest of the code needs from
a queue goes through these few functions: a replacement touches this file and
app/worker/settings.py, nothing else.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from arq import Retry as ArqRetry
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.config import Settings

# What the relay holds to enqueue; named here so nothing else imports Arq.
Pool = ArqRedis


def job_id(outbox_id: uuid.UUID) -> str:
    """Deterministic: the same outbox row can never be queued twice at once (JOB-3)."""
    return f"outbox:{outbox_id}"


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


async def enqueue(pool: ArqRedis, function: str, outbox_id: uuid.UUID, *, traceparent: str | None = None) -> bool:
    """Queue one outbox row's job. False when it is already queued, running or recently done.

    `traceparent`, when tracing is on, travels as a keyword argument: the message's trace header.
    """
    if traceparent is None:
        job = await pool.enqueue_job(function, str(outbox_id), _job_id=job_id(outbox_id))
    else:
        job = await pool.enqueue_job(function, str(outbox_id), _job_id=job_id(outbox_id), traceparent=traceparent)
    return job is not None


def retry_later(delay_seconds: float) -> Exception:
    """The exception a job raises to be run again after `delay_seconds` (Arq retries only on this)."""
    return ArqRetry(defer=delay_seconds)
