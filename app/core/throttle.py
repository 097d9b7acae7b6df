"""At most once per window, across every process: a Redis key that only the first caller can set (DEP-11)."""

from __future__ import annotations

from redis.asyncio import Redis

_KEY_PREFIX = "throttle"


async def first_in_window(redis: Redis, *, scope: str, key: str, window_seconds: int) -> bool:
    """True for the first call per `window_seconds` for this scope and key, False for the rest."""
    return bool(await redis.set(f"{_KEY_PREFIX}:{scope}:{key}", b"1", nx=True, ex=window_seconds))
