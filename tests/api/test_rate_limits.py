"""Rate limits: a dependency, counted in Redis, answered with 429 and Retry-After (DEP-9, DEP-11)."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_resources
from app.core.config import Rate, RateLimitSettings, Settings
from app.resources import Resources
from tests.support.factories import UserCreateFactory, create_user
from tests.support.logs import events
from tests.support.outages import redis_down
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem


def limits(**rates: str) -> RateLimitSettings:
    return RateLimitSettings.model_validate({name: Rate.model_validate(rate) for name, rate in rates.items()})


async def signup(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post("/v1/auth/signup", json=UserCreateFactory.build().model_dump())


async def test_signup_is_limited_per_client_address(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=limits(signup="2/minute"))
    assert [(await signup(client)).status_code for _ in range(2)] == [201, 201]
    response = await signup(client)
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_token_endpoint_is_limited_per_client_address(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=limits(token="3/minute", token_per_account="100/minute"))
    statuses = [
        (await client.post("/v1/auth/token", data={"username": f"u{i}@example.com", "password": "x"})).status_code
        for i in range(4)
    ]
    assert statuses == [400, 400, 400, 429]


async def test_token_endpoint_is_limited_per_account_across_addresses(
    app: FastAPI, settings: Settings, db_session: AsyncSession
) -> None:
    override_settings(app, settings, rate_limit=limits(token="100/minute", token_per_account="2/minute"))
    victim = await create_user(db_session, settings)
    statuses = []
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        transport = httpx.ASGITransport(app=app, client=(address, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            form = {"username": victim.email.upper(), "password": "guess"}
            statuses.append((await client.post("/v1/auth/token", data=form)).status_code)
    assert statuses == [400, 400, 429]


async def test_limits_are_shared_through_redis_not_process_memory(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, resources: Resources
) -> None:
    override_settings(app, settings, rate_limit=limits(signup="1/minute"))
    assert (await signup(client)).status_code == 201
    keys = [key async for key in resources.redis.scan_iter(f"{settings.redis_key_prefix}rate-limit:signup:*")]
    assert keys, "the count lives in Redis"
    await resources.redis.delete(*keys)  # another process resetting the shared window...
    assert (await signup(client)).status_code == 201  # ...is seen here at once


async def test_when_redis_is_down_requests_pass_and_a_warning_is_logged(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    override_settings(app, settings, rate_limit=limits(signup="1/minute"))
    async with redis_down(resources) as broken:
        app.dependency_overrides[get_resources] = lambda: broken
        with caplog.at_level(logging.WARNING):
            statuses = [(await signup(client)).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    assert events(caplog, "rate limiter unavailable; request allowed")


async def test_limits_can_be_switched_off(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> None:
    override_settings(
        app, settings, rate_limit=RateLimitSettings(_env_file=None, enabled=False, signup=Rate.model_validate("1/hour"))
    )
    assert [(await signup(client)).status_code for _ in range(3)] == [201, 201, 201]
