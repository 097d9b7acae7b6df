"""`first_in_window`: one caller per window and key, counted in Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from app.core.throttle import first_in_window


async def test_only_the_first_call_in_a_window_passes(redis: Redis) -> None:
    assert await first_in_window(redis, scope="s", key="k", window_seconds=60) is True
    assert await first_in_window(redis, scope="s", key="k", window_seconds=60) is False
    assert 0 < await redis.ttl("throttle:s:k") <= 60
    # Other keys and scopes have windows of their own.
    assert await first_in_window(redis, scope="s", key="other", window_seconds=60) is True
    assert await first_in_window(redis, scope="other", key="k", window_seconds=60) is True


async def test_the_window_ends(redis: Redis) -> None:
    assert await first_in_window(redis, scope="s", key="k", window_seconds=60) is True
    await redis.delete("throttle:s:k")  # what the expiry does after 60 s
    assert await first_in_window(redis, scope="s", key="k", window_seconds=60) is True
