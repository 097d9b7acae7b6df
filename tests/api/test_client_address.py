"""The client address (rate limits, logs) is the peer, or what a trusted proxy says: APP_FORWARDED_ALLOW_IPS."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from app.core.config import AppSettings, Environment, Rate, RateLimitSettings
from app.main import create_app
from tests.support.environment import TEST_ALLOWED_HOSTS, settings_for_tests
from tests.support.factories import UserCreateFactory


async def signups_from(app: FastAPI, peer: str, forwarded_for: list[str]) -> list[int]:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return [
            (
                await client.post(
                    "/v1/auth/signup",
                    json=UserCreateFactory.build().model_dump(),
                    headers={"X-Forwarded-For": address},
                )
            ).status_code
            for address in forwarded_for
        ]


def app_trusting(*proxies: str) -> FastAPI:
    settings = settings_for_tests(
        app=AppSettings(
            _env_file=None, env=Environment.TEST, allowed_hosts=TEST_ALLOWED_HOSTS, forwarded_allow_ips=list(proxies)
        ),
        rate_limit=RateLimitSettings(_env_file=None, signup=Rate.model_validate("1/minute")),
    )
    return create_app(settings)


async def test_by_default_x_forwarded_for_is_ignored() -> None:
    app = app_trusting()
    async with app.router.lifespan_context(app):
        assert await signups_from(app, "127.0.0.1", ["198.51.100.1", "198.51.100.2"]) == [201, 429]


async def test_a_listed_proxy_names_the_client() -> None:
    app = app_trusting("10.0.0.0/8")
    async with app.router.lifespan_context(app):
        # Behind the proxy each client has its own budget...
        assert await signups_from(app, "10.1.2.3", ["198.51.100.1", "198.51.100.2"]) == [201, 201]
        # ...and a caller that is not the proxy is counted by its own address, whatever it claims.
        assert await signups_from(app, "192.0.2.9", ["198.51.100.3", "198.51.100.4"]) == [201, 429]


@pytest.mark.parametrize("value", ["not-an-address", "10.0.0.0/33", "127.0.0.1,example.com"])
def test_a_malformed_trusted_proxy_list_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("APP_FORWARDED_ALLOW_IPS", value)
    with pytest.raises(ValidationError, match="APP_FORWARDED_ALLOW_IPS"):
        AppSettings(_env_file=None)


def test_the_list_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_FORWARDED_ALLOW_IPS", "10.0.0.1, 192.168.0.0/16,*")
    assert AppSettings(_env_file=None).forwarded_allow_ips == ["10.0.0.1", "192.168.0.0/16", "*"]
