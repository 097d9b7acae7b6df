"""The app factory: docs per environment, start-up checks, global middleware (API-2, API-6, DEP-10)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import PostgresDsn, SecretStr

from app.core.config import AppSettings, AuthSettings, DatabaseSettings, Environment, Settings, WebhookSettings
from app.main import create_app
from tests.support.environment import TEST_ALLOWED_HOSTS, settings_for_tests
from tests.support.outages import closed_port

STRONG_SECRET = "Zq7!kP2#vW9$mX4^tR8&yB3*nL6(cF1)"


def _app_for(env: Environment, **app_settings: Any) -> FastAPI:
    return create_app(
        settings_for_tests(
            app=AppSettings(_env_file=None, env=env, **{"allowed_hosts": TEST_ALLOWED_HOSTS, **app_settings}),
            auth=AuthSettings(_env_file=None, jwt_secret=SecretStr(STRONG_SECRET)),
            webhooks=WebhookSettings(_env_file=None),
        )
    )


async def _get(app: FastAPI, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return await client.get(path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("env", [Environment.LOCAL, Environment.TEST, Environment.STAGING])
async def test_docs_are_served_outside_production(env: Environment) -> None:
    app = _app_for(env)
    assert (await _get(app, "/docs")).status_code == 200
    assert (await _get(app, "/openapi.json")).status_code == 200


async def test_production_serves_no_docs() -> None:
    app = _app_for(Environment.PRODUCTION)
    for path in ("/docs", "/redoc", "/openapi.json"):
        response = await _get(app, path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


async def test_start_up_fails_fast_when_the_database_does_not_answer(settings: Settings) -> None:
    down = DatabaseSettings(
        _env_file=None,
        url=PostgresDsn(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/service"),
        connect_timeout_seconds=1,
    )
    app = create_app(settings.model_copy(update={"database": down}))
    started = time.monotonic()
    with pytest.raises(OSError, match="Connect call failed"):
        async with app.router.lifespan_context(app):
            pass
    assert time.monotonic() - started < 5


async def test_cors_allows_configured_origins_only() -> None:
    app = _app_for(Environment.TEST, cors_origins=["https://app.example.com"])
    allowed = await _get(app, "/health/live", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "X-Request-ID" in allowed.headers["access-control-expose-headers"]
    other = await _get(app, "/health/live", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


async def test_large_responses_are_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["openapi"].startswith("3.")


async def test_debug_routes_exist_only_in_local(settings: Settings) -> None:
    local = create_app(
        settings.model_copy(
            update={"app": AppSettings(_env_file=None, env=Environment.LOCAL, allowed_hosts=TEST_ALLOWED_HOSTS)}
        )
    )
    async with local.router.lifespan_context(local):
        response = await _get(local, "/v1/debug/info")
    assert response.status_code == 200
    assert response.json()["environment"] == "local"
    assert response.json()["database_pool"]["size"] == settings.database.pool_size
    for env in (Environment.TEST, Environment.STAGING, Environment.PRODUCTION):
        assert (await _get(_app_for(env), "/v1/debug/info")).status_code == 404
