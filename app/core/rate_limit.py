"""Fixed-window rate limiting in Redis, shared by every process (DEP-9, DEP-11)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from app.core.config import Rate

_KEY_PREFIX = "rate-limit"


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    retry_after_seconds: int


async def hit(redis: Redis, *, prefix: str, scope: str, key: str, rate: Rate) -> RateLimitDecision:
    """Count one request against `rate` for `key`; decide whether it may proceed.

    `prefix` is the service's own Redis key prefix (`Settings.redis_key_prefix`).
    """
    redis_key = f"{prefix}{_KEY_PREFIX}:{scope}:{key}"
    async with redis.pipeline(transaction=True) as pipeline:
        pipeline.incr(redis_key)
        # NX: the window starts with its first request and is not extended by later ones.
        pipeline.expire(redis_key, rate.window_seconds, nx=True)
        pipeline.ttl(redis_key)
        count, _, ttl = await pipeline.execute()
    allowed = int(count) <= rate.count
    return RateLimitDecision(allowed=allowed, retry_after_seconds=0 if allowed else max(int(ttl), 1))
