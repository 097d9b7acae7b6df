"""Fixed-window rate limiting in Redis, shared by every process (DEP-9, DEP-11)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from app.core.config import Rate

_KEY_PREFIX = "rate-limit"

# One EVALSHA instead of a MULTI/EXEC of three commands: the same single round trip, and the same
# atomicity, for less work on both sides. Every anonymous read runs it (docs/performance.md).
# EXPIRE ... NX: the window starts with its first request and is not extended by later ones.
_COUNT_IN_WINDOW = b"""
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
return {count, redis.call('TTL', KEYS[1])}
"""


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    retry_after_seconds: int


async def hit(redis: Redis, *, prefix: str, scope: str, key: str, rate: Rate) -> RateLimitDecision:
    """Count one request against `rate` for `key`; decide whether it may proceed.

    `prefix` is the service's own Redis key prefix (`Settings.redis_key_prefix`).
    """
    redis_key = f"{prefix}{_KEY_PREFIX}:{scope}:{key}"
    # redis-py loads the script on the first NOSCRIPT (a new or restarted server) and retries.
    count, ttl = await redis.register_script(_COUNT_IN_WINDOW)(keys=[redis_key], args=[rate.window_seconds])
    allowed = int(count) <= rate.count
    return RateLimitDecision(allowed=allowed, retry_after_seconds=0 if allowed else max(int(ttl), 1))
