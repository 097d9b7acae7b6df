"""The fixed-window counter below the HTTP layer, against the real Redis (DEP-9, DEP-11)."""

from __future__ import annotations

from redis.asyncio import Redis

from app.core.config import Rate
from app.core.rate_limit import hit


async def test_a_window_allows_its_count_then_refuses_until_it_ends(redis: Redis) -> None:
    rate = Rate.model_validate("2/minute")
    first, second, third = [
        await hit(redis, prefix="test-service:", scope="test", key="client", rate=rate) for _ in range(3)
    ]
    assert (first.allowed, first.retry_after_seconds) == (True, 0)
    assert (second.allowed, second.retry_after_seconds) == (True, 0)
    assert third.allowed is False
    assert 59 <= third.retry_after_seconds <= 60


async def test_each_key_has_a_window_of_its_own(redis: Redis) -> None:
    rate = Rate.model_validate("1/minute")
    assert (await hit(redis, prefix="test-service:", scope="test", key="one", rate=rate)).allowed
    assert (await hit(redis, prefix="test-service:", scope="test", key="two", rate=rate)).allowed
    assert (await hit(redis, prefix="test-service:", scope="other", key="one", rate=rate)).allowed
    assert not (await hit(redis, prefix="test-service:", scope="test", key="one", rate=rate)).allowed
