"""The one seam between this service and Arq.

Arq is in maintenance-only mode, so everything the rest of the code needs from
a queue goes through these few functions: a replacement touches this file and
app/worker/settings.py, nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple, cast

import orjson
from arq import Retry as ArqRetry
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.typing import WorkerSettingsType
from arq.utils import timestamp_ms
from arq.worker import Worker, get_kwargs
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


# Arq's `enqueue_job` for a whole batch in one round trip, with its checks and keys unchanged.
# KEYS[1] is the queue; then, per job, its job key and its result key. ARGV[1] is the job
# key's time to live (ms), ARGV[2] the score (the enqueue time, ms); then, per job, its
# serialized body and its id. Per job: a result left by an earlier run is deleted (see
# `enqueue`); a job key that exists means the job is still queued or running, and the job
# is refused, as Arq refuses it; otherwise the body is stored with its time to live and the
# id is added to the queue. A script runs atomically, so no WATCH is needed to keep a job
# that another relay queues in between from being queued twice. Returns the 1-based
# positions of the jobs it queued.
_ENQUEUE_SCRIPT = b"""
local accepted = {}
for i = 1, (#KEYS - 1) / 2 do
    local job_key = KEYS[2 * i]
    redis.call('DEL', KEYS[2 * i + 1])
    if redis.call('EXISTS', job_key) == 0 then
        redis.call('PSETEX', job_key, ARGV[1], ARGV[2 * i + 1])
        redis.call('ZADD', KEYS[1], ARGV[2], ARGV[2 * i + 2])
        accepted[#accepted + 1] = i
    end
end
return accepted
"""


async def _run_script(
    pool: ArqRedis, script: bytes, keys: Sequence[str], args: Sequence[bytes | str | int]
) -> list[Any]:
    """One EVALSHA; redis-py's `Script` loads the script on a server that lacks it (new or restarted) and retries."""
    return list(await pool.register_script(script)(keys=keys, args=args))


async def enqueue(pool: ArqRedis, settings: Settings, jobs: Sequence[QueuedJob]) -> set[uuid.UUID]:
    """Queue each job; return the outbox ids the queue accepted.

    The contract the relay relies on: an id is in the result only when this call put its
    job in the queue, and only those rows may be marked dispatched. A row refused because
    its job is still queued or running stays undispatched, and the relay offers it again.

    A result left by an earlier run of the same job id (a failure, or a worker configured
    to keep results) would make Arq refuse the job for as long as it is kept, silently: it
    is deleted first. The outbox row, not Arq's result, says whether the work is done.
    `traceparent` travels as a keyword argument: the message's trace header.

    The whole batch is one Redis script (one round trip instead of three per job); the job
    it writes is the one `ArqRedis.enqueue_job` writes: the same keys, body (Arq's own
    `serialize_job`), time to live and score, so Arq's worker runs it unchanged.
    """
    if not jobs:
        return set()
    enqueue_time_ms = timestamp_ms()
    keys = [queue_name(settings)]
    args: list[bytes | str | int] = [pool.expires_extra_ms, enqueue_time_ms]
    for function, outbox_id, traceparent in jobs:
        key = job_id(settings, outbox_id)
        # A keyword only when tracing is on, so jobs queued without it keep their old shape.
        trace_header: dict[str, Any] = {} if traceparent is None else {"traceparent": traceparent}
        body = serialize_job(function, (str(outbox_id),), trace_header, None, enqueue_time_ms, serializer=serialize)
        keys += [job_key_prefix + key, result_key_prefix + key]
        args += [body, key]
    positions = await _run_script(pool, _ENQUEUE_SCRIPT, keys, args)
    return {jobs[int(position) - 1].outbox_id for position in positions}


# Arq's per-job claim (`Worker.start_jobs`: WATCH, EXISTS, ZSCORE, MULTI/PSETEX/EXEC, four
# round trips a job) for every job of a poll in one round trip, with the same checks. KEYS[1]
# is the queue; then each job's in-progress key. ARGV[1] is now (ms), ARGV[2] the in-progress
# key's time to live (ms); then each job's id. A job is skipped when another worker holds its
# in-progress key, when it has left the queue (finished), or when its score is in the future
# (queued again with a delay); otherwise its in-progress key is set. Atomic, so two workers
# polling the same ids claim each job once. Returns id, score, id, score, ... of the claimed.
_CLAIM_SCRIPT = b"""
local claimed = {}
local now = tonumber(ARGV[1])
for i = 2, #KEYS do
    local job_id = ARGV[i + 1]
    if redis.call('EXISTS', KEYS[i]) == 0 then
        local score = redis.call('ZSCORE', KEYS[1], job_id)
        if score and tonumber(score) <= now then
            redis.call('PSETEX', KEYS[i], ARGV[2], '1')
            claimed[#claimed + 1] = job_id
            claimed[#claimed + 1] = score
        end
    end
end
return claimed
"""


class BatchClaimWorker(Worker):
    """Arq's worker, claiming each poll's jobs in one Redis round trip instead of four per job.

    Only `start_jobs` differs, and only in how many round trips it makes: the same checks
    (see `_CLAIM_SCRIPT`), the same in-progress key and time to live, at most `max_jobs`
    running, then Arq's own `run_job` for each job claimed.
    """

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        free = self.max_jobs - self.job_counter
        if free <= 0 or not job_ids:
            return
        ids = [job_id.decode() for job_id in job_ids[:free]]
        keys = [self.queue_name, *(in_progress_key_prefix + job_id for job_id in ids)]
        args: list[bytes | str | int] = [timestamp_ms(), int(self.in_progress_timeout_s * 1000), *ids]
        reply = await _run_script(self.pool, _CLAIM_SCRIPT, keys, args)
        for job_id, score in zip(reply[::2], reply[1::2], strict=True):
            # Never waits: no more jobs were claimed than the semaphore has free permits.
            await self.sem.acquire()
            self.job_counter += 1
            name = job_id.decode()
            task = self.loop.create_task(self.run_job(name, int(score)))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[name] = task


def run_worker(settings_cls: type) -> None:
    """What `arq SETTINGS` does (`arq.worker.run_worker`), with `BatchClaimWorker` as the worker."""
    options: dict[str, Any] = get_kwargs(cast("WorkerSettingsType", settings_cls))
    BatchClaimWorker(**options).run()


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
