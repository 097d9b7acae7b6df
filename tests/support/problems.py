"""Assertions on the Problem Details wire format (SPEC §4)."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code", "request_id"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].startswith("https://")
    assert body["type"].endswith("/" + code.replace("_", "-"))
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    return body
