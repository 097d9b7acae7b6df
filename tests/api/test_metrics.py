"""Prometheus metrics labelled by route template, not raw path (OPS-7)."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import get_resources
from app.models.outbox import JobOutbox
from app.resources import Resources
from tests.support.outages import database_down


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/health/live")
    await client.get("/no/such/thing/123")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'http_requests_total{method="GET",route="/health/live",status="200"}' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "/no/such/thing/123" not in text
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health/live"}' in text


async def test_included_routes_are_labelled_with_their_full_template(client: httpx.AsyncClient) -> None:
    await client.get("/v1/users/00000000-0000-0000-0000-000000000000")
    text = (await client.get("/metrics")).text
    assert 'route="/v1/users/{user_id}",status="401"' in text


async def test_documentation_routes_have_their_own_labels(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    text = (await client.get("/metrics")).text
    assert 'http_requests_total{method="GET",route="/docs",status="200"}' in text
    assert 'http_requests_total{method="GET",route="/openapi.json",status="200"}' in text


# Any number of distinct unknown paths proves it: a label that took the path (or any part of it) would
# add a series with the first new path, and so would a cap that kept the first N paths before collapsing
# them. A thousand (each through the whole middleware stack) keeps the run short; 10,000 added only time.
UNKNOWN_PATHS = 1_000


@pytest.mark.slow
async def test_a_thousand_unknown_paths_add_no_series(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.get("/no/such/path/warm-up")
    await client.get("/metrics")  # the scrape's own series exist from the second scrape on, whatever ran before
    before = (await client.get("/metrics")).text.count("\n")
    for number in range(UNKNOWN_PATHS):
        assert await asgi_get(app, f"/no/such/path/{number}") == 404
    text = (await client.get("/metrics")).text
    assert text.count("\n") == before
    assert "/no/such/path/" not in text


async def asgi_get(app: FastAPI, path: str) -> int:
    """One GET straight through the ASGI interface: the whole middleware stack without an HTTP client."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    status = 0

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def lag_of(scrape: str) -> float | None:
    for line in scrape.splitlines():
        if line.startswith("outbox_lag_seconds "):
            return float(line.split()[1])
    return None


async def test_outbox_lag_is_the_age_of_the_oldest_due_row(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    assert lag_of((await client.get("/metrics")).text) == 0.0
    now = datetime.now(UTC)
    db_session.add_all(
        [
            JobOutbox(job_name="send_welcome_email", payload={}, available_at=now - timedelta(minutes=2)),
            JobOutbox(job_name="send_welcome_email", payload={}, available_at=now + timedelta(hours=1)),  # not due
            JobOutbox(
                job_name="send_welcome_email",
                payload={},
                available_at=now - timedelta(hours=1),
                dispatched_at=now,  # handed over: the relay did its part
            ),
        ]
    )
    await db_session.commit()
    lag = lag_of((await client.get("/metrics")).text)
    assert lag is not None
    assert 120 <= lag < 180


async def test_a_scrape_without_the_database_still_succeeds(
    app: FastAPI, client: httpx.AsyncClient, resources: Resources
) -> None:
    async with database_down(resources) as broken:
        app.dependency_overrides[get_resources] = lambda: broken
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "http_requests_total" in response.text
    assert lag_of(response.text) is None
