"""How many exports one user may run at once, across every process (DEP-9, DEP-11).

An export streams for as long as its client reads, so a rate per minute does not bound
what it holds; a count of running ones does. When Redis cannot be reached the export is
let through and a warning logged, as the rate limits do (docs/decisions/0006).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import redis.exceptions
import structlog
from redis.asyncio import Redis

from app.core import concurrency_limit
from app.core.config import ExportSettings
from app.core.errors import TooManyExports

logger = structlog.get_logger(__name__)

SCOPE = "post-export"
# A process that dies mid-export frees its slot this long after the last renewal.
LEASE_SECONDS = 120
# When to try again: exports are expected to take seconds, not minutes.
RETRY_AFTER_SECONDS = 10

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


@asynccontextmanager
async def export_slot(
    redis_client: Redis, user_id: uuid.UUID, settings: ExportSettings, *, key_prefix: str
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Hold one of the user's export slots for the block, or raise TooManyExports; yields a lease renewal."""
    key = str(user_id)
    try:
        token = await concurrency_limit.take(
            redis_client,
            prefix=key_prefix,
            scope=SCOPE,
            key=key,
            limit=settings.max_concurrent_per_user,
            lease_seconds=LEASE_SECONDS,
        )
    except _REDIS_DOWN as exc:
        logger.warning("export limiter unavailable; export allowed", error=repr(exc))
        token = ""
    else:
        if token is None:
            raise TooManyExports(
                f"This account already runs as many exports as it may at once ({settings.max_concurrent_per_user}); "
                "retry when one has finished.",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )

    async def keep_alive() -> None:
        if token:
            try:
                await concurrency_limit.renew(
                    redis_client, prefix=key_prefix, scope=SCOPE, key=key, token=token, lease_seconds=LEASE_SECONDS
                )
            except _REDIS_DOWN as exc:
                logger.warning("export slot not renewed", error=repr(exc))

    try:
        yield keep_alive
    finally:
        if token:
            try:
                await concurrency_limit.give_back(redis_client, prefix=key_prefix, scope=SCOPE, key=key, token=token)
            except _REDIS_DOWN as exc:
                logger.warning("export slot not given back; its lease will expire", error=repr(exc))
