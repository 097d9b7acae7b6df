"""While 16 logins run, /health/live keeps answering (ASY-3, DEP-8).

A generous bound: no probe may wait for as long as half the logins' hashing.
That it is off the loop at all is proven exactly, without timing, in
tests/core/test_security.py; bench/login_event_loop.py reports the numbers.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import AuthSettings, RateLimitSettings, Settings
from app.core.security import hash_password, verify_password
from tests.support.factories import create_user
from tests.support.overrides import override_settings

LOGINS = 16


async def test_sixteen_logins_do_not_stall_the_health_check(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, db_session: AsyncSession
) -> None:
    production_cost = AuthSettings(_env_file=None)  # the real argon2id parameters
    changed = override_settings(
        app, settings, auth=production_cost, rate_limit=RateLimitSettings(_env_file=None, enabled=False)
    )
    member = await create_user(db_session, changed)
    started = time.perf_counter()
    await verify_password("x", await hash_password("x", production_cost), production_cost)
    one_verification = (time.perf_counter() - started) / 2  # hashing and verifying cost about the same

    form = {"username": member.email, "password": member.password}
    logins = asyncio.gather(*(client.post("/v1/auth/token", data=form) for _ in range(LOGINS)))
    worst_probe = 0.0
    while not logins.done():
        probe_started = time.perf_counter()
        assert (await client.get("/health/live")).status_code == 200
        worst_probe = max(worst_probe, time.perf_counter() - probe_started)
        await asyncio.sleep(0.005)
    responses = await logins

    assert [response.status_code for response in responses] == [200] * LOGINS
    assert worst_probe < LOGINS / 2 * one_verification, (
        f"a probe waited {worst_probe * 1000:.0f} ms; one verification takes {one_verification * 1000:.0f} ms"
    )
