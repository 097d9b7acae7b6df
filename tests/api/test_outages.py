"""A database or Redis outage is a 503 Problem Details with Retry-After, never a traceback (SPEC §4)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.api.deps import get_resources
from app.resources import Resources
from tests.support.outages import database_down, database_with_statement_timeout, redis_down
from tests.support.problems import assert_problem


async def test_database_down_is_503_with_retry_after(
    probe_app: FastAPI, probe_client: httpx.AsyncClient, resources: Resources
) -> None:
    async with database_down(resources) as broken:
        probe_app.dependency_overrides[get_resources] = lambda: broken
        response = await probe_client.post("/probe/write", params={"refs": [1]})
    assert_problem(response, 503, "service_unavailable")
    assert int(response.headers["retry-after"]) > 0


async def test_statement_timeout_is_503(
    probe_app: FastAPI, probe_client: httpx.AsyncClient, resources: Resources
) -> None:
    async with database_with_statement_timeout(resources, timeout_ms=100) as slow:
        probe_app.dependency_overrides[get_resources] = lambda: slow
        response = await probe_client.post("/probe/sleep")
    assert_problem(response, 503, "service_unavailable")
    assert "retry-after" in response.headers


async def test_readiness_names_the_failed_dependency(
    app: FastAPI, client: httpx.AsyncClient, resources: Resources
) -> None:
    async with redis_down(resources) as broken:
        app.dependency_overrides[get_resources] = lambda: broken
        response = await client.get("/health/ready")
    body = assert_problem(response, 503, "service_unavailable")
    assert body["checks"] == {"database": "ok", "redis": "failed"}
    assert "redis" in body["detail"]
    assert "retry-after" in response.headers


async def test_readiness_with_both_down_names_both(
    app: FastAPI, client: httpx.AsyncClient, resources: Resources
) -> None:
    async with database_down(resources) as no_db, redis_down(no_db) as neither:
        app.dependency_overrides[get_resources] = lambda: neither
        response = await client.get("/health/ready")
    body = assert_problem(response, 503, "service_unavailable")
    assert body["checks"] == {"database": "failed", "redis": "failed"}
