"""Request ids: accepted when well-formed, generated otherwise, echoed, logged (OPS-5, OPS-6)."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from tests.support.logs import events

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_generated_when_absent(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert HEX_ID.match(response.headers["x-request-id"])


async def test_a_well_formed_client_id_is_echoed(client: httpx.AsyncClient) -> None:
    for request_id in ("3f0e2a4c-1d7b-4c55-9d7e-2b8f6a0c9e11", "trace.abc_123:4"):
        response = await client.get("/health/live", headers={"X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("bad", ["x" * 129, "has space", "semi;colon", "<script>", "-leading-dash", "ü-nicode"])
async def test_a_malformed_client_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/health/live", headers=[(b"X-Request-ID", bad.encode())])
    assert HEX_ID.match(response.headers["x-request-id"])


async def test_every_error_body_carries_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/missing", headers={"X-Request-ID": "req-42"})
    assert response.json()["request_id"] == "req-42"


async def test_access_log_line_has_method_path_status_duration_and_request_id(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        await client.get("/health/live", headers={"X-Request-ID": "req-log-1"})
    [line] = events(caplog, "request")
    assert line["request_id"] == "req-log-1"
    assert line["method"] == "GET"
    assert line["path"] == "/health/live"
    assert line["route"] == "/health/live"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
