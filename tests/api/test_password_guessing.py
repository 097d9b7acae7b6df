"""Password guesses are limited per (account, address) pair and per account, wherever they are made.

The token endpoint and `current_password` on PATCH /v1/users/me share one budget per
account; another address's wrong attempts cannot lock the owner out below the ceiling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Rate, RateLimitSettings, Settings
from tests.support.factories import bearer, create_user
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem


def limits(**rates: str) -> RateLimitSettings:
    return RateLimitSettings.model_validate({name: Rate.model_validate(rate) for name, rate in rates.items()})


@asynccontextmanager
async def client_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def wrong_change(guess: str) -> dict[str, str]:
    return {"password": "a-new-password-123", "current_password": guess}


async def test_current_password_guesses_are_limited_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=limits(token_per_account_address="3/minute"))
    owner = await create_user(db_session, settings)
    headers = bearer(owner.user, settings)
    statuses = [
        (await client.patch("/v1/users/me", json=wrong_change(f"guess-{i}"), headers=headers)).status_code
        for i in range(3)
    ]
    assert statuses == [422, 422, 422]
    # The right one is refused too once the budget is spent: guessing cannot be finished off.
    response = await client.patch("/v1/users/me", json=wrong_change(owner.password), headers=headers)
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_a_name_change_is_not_a_guess(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=limits(token_per_account_address="1/minute"))
    owner = await create_user(db_session, settings)
    headers = bearer(owner.user, settings)
    statuses = [
        (await client.patch("/v1/users/me", json={"name": f"N{i}"}, headers=headers)).status_code for i in range(3)
    ]
    assert statuses == [200, 200, 200]


async def test_current_password_and_sign_in_share_the_account_budget(
    app: FastAPI, db_session: AsyncSession, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=limits(token="100/minute", token_per_account="3/minute"))
    owner = await create_user(db_session, settings)
    for address in ("10.1.0.1", "10.1.0.2"):
        async with client_at(app, address) as client:
            form = {"username": owner.email, "password": "wrong-guess"}
            assert (await client.post("/v1/auth/token", data=form)).status_code == 400
    async with client_at(app, "10.1.0.3") as client:
        headers = bearer(owner.user, settings)
        assert (await client.patch("/v1/users/me", json=wrong_change("guess"), headers=headers)).status_code == 422
        response = await client.patch("/v1/users/me", json=wrong_change("guess-2"), headers=headers)
    assert_problem(response, 429, "rate_limited")


async def test_strangers_wrong_attempts_do_not_lock_the_owner_out(
    app: FastAPI, db_session: AsyncSession, settings: Settings
) -> None:
    # The shipped defaults: the pair limit stops the stranger, the looser account ceiling is not reached.
    override_settings(app, settings, rate_limit=RateLimitSettings(_env_file=None))
    owner = await create_user(db_session, settings)
    async with client_at(app, "203.0.113.66") as stranger:
        statuses = [
            (await stranger.post("/v1/auth/token", data={"username": owner.email, "password": f"x{i}"})).status_code
            for i in range(6)
        ]
    assert statuses == [400] * 5 + [429]
    async with client_at(app, "198.51.100.7") as owners_client:
        response = await owners_client.post(
            "/v1/auth/token", data={"username": owner.email, "password": owner.password}
        )
    assert response.status_code == 200, response.text


async def test_the_account_ceiling_still_holds_across_many_addresses(
    app: FastAPI, db_session: AsyncSession, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=limits(token="100/minute", token_per_account="4/minute"))
    owner = await create_user(db_session, settings)
    statuses = []
    for i in range(5):
        async with client_at(app, f"192.0.2.{i + 1}") as client:
            form = {"username": owner.email.upper(), "password": "guess"}
            statuses.append((await client.post("/v1/auth/token", data=form)).status_code)
    assert statuses == [400, 400, 400, 400, 429]
