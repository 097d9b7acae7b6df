"""Headers that keep browsers from rendering, embedding or leaking what the API sends, and the allowed hosts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.api.docs import content_security_policies
from app.api.middleware.security_headers import API_CONTENT_SECURITY_POLICY
from app.core.config import AppSettings, Environment, Settings
from app.main import create_app
from tests.conftest import BASE_URL
from tests.support.environment import TEST_ALLOWED_HOSTS
from tests.support.problems import assert_problem


def assert_hardened(response: httpx.Response, policy: str = API_CONTENT_SECURITY_POLICY) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == policy
    assert "server" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health/live"),
        ("GET", "/v1/posts"),
        ("GET", "/v1/nowhere"),
        ("GET", "/v1/users/me"),
        ("POST", "/v1/auth/token"),
        ("GET", "/openapi.json"),
        ("GET", "/metrics"),
        ("HEAD", "/v1/posts"),
    ],
)
async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_hardened(await client.request(method, path))


async def test_the_docs_pages_get_the_policy_they_need_and_no_more(app: FastAPI, client: httpx.AsyncClient) -> None:
    policies = content_security_policies(app.title, "/openapi.json")
    for path in ("/docs", "/docs/oauth2-redirect", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 200
        assert_hardened(response, policies[path])
        assert "frame-ancestors 'none'" in policies[path]
        # Nothing from another origin: the assets are the app's own.
        assert "https://" not in policies[path]
        assert "cdn.jsdelivr.net" not in response.text
    assert "'unsafe-inline'" not in policies["/docs"]


async def test_no_strict_transport_security_unless_tls_terminates_upstream(client: httpx.AsyncClient) -> None:
    assert "strict-transport-security" not in (await client.get("/health/live")).headers


def _app_with(settings: Settings, **app_settings: Any) -> FastAPI:
    values: dict[str, Any] = {"env": Environment.TEST, "allowed_hosts": TEST_ALLOWED_HOSTS, **app_settings}
    return create_app(settings.model_copy(update={"app": AppSettings(_env_file=None, **values)}))


async def _get(app: FastAPI, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        return await client.get(path, **kwargs)  # type: ignore[arg-type]


async def test_probes_answer_a_platform_that_calls_them_by_address(client: httpx.AsyncClient) -> None:
    # Kubernetes sends the pod's IP as the Host of its HTTP probes.
    for path in ("/health/live", "/health/ready"):
        response = await client.get(path, headers={"Host": "10.1.2.3:8000"})
        assert response.status_code == 200, response.text


async def test_strict_transport_security_when_tls_terminates_upstream(settings: Settings) -> None:
    response = await _get(_app_with(settings, tls_terminated_upstream=True), "/health/live")
    assert response.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"


async def test_a_host_not_allowed_is_refused_as_problem_details_and_never_echoed(client: httpx.AsyncClient) -> None:
    for path in ("/v1/users/me", "/v1/posts/"):  # the second would be a trailing-slash redirect
        response = await client.get(path, headers={"Host": "evil.example"})
        assert_problem(response, 400, "untrusted_host")
        assert "evil" not in response.text
        assert "location" not in response.headers
        assert_hardened(response)


async def test_an_allowed_host_is_served_and_redirects_stay_on_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/posts/", headers={"Host": "localhost:8000"})
    assert response.status_code == 307
    assert response.headers["location"] == "http://localhost:8000/v1/posts"


async def test_subdomain_wildcards_are_allowed(settings: Settings) -> None:
    app = _app_with(settings, allowed_hosts=["*.example.com"])
    # A path no route serves: past the host check it is a 404; refused by it, a 400.
    assert (await _get(app, "/nowhere", headers={"Host": "api.example.com"})).status_code == 404
    assert (await _get(app, "/nowhere", headers={"Host": "example.org"})).status_code == 400
