"""The rate-limit window: fixed by its first request, and Retry-After is what is left of it (DEP-9)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

from app.core.config import Rate, RateLimitSettings, Settings
from tests.support.factories import UserCreateFactory
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem


async def signup(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/v1/auth/signup", json=UserCreateFactory.build().model_dump())


async def test_retry_after_is_what_is_left_of_a_window_that_later_requests_do_not_extend(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, redis: Redis
) -> None:
    override_settings(
        app, settings, rate_limit=RateLimitSettings(_env_file=None, signup=Rate.model_validate("2/minute"))
    )
    assert (await signup(client)).status_code == 201
    [window] = [key async for key in redis.scan_iter(f"{settings.redis_key_prefix}rate-limit:signup:*")]
    # Fast-forward to the window's last second and a half; Redis rounds that to 1 second left.
    await redis.pexpire(window, 1400)
    assert (await signup(client)).status_code == 201
    response = await signup(client)
    assert_problem(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "1"
