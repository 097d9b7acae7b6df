"""Prometheus metrics labelled by route template, not raw path (OPS-7)."""

from __future__ import annotations

import httpx


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
