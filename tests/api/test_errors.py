"""The error pipeline on the wire: every error is Problem Details (ERR-1..ERR-4, SPEC §4)."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.support.logs import events
from tests.support.problems import assert_problem


async def test_unknown_route_is_a_problem_404(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/no/such/route"), 404, "not_found")
    assert body["title"] == "Not found"
    assert isinstance(body["detail"], str)


async def test_wrong_method_is_a_problem_405(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_declared_oversized_body_is_a_problem_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/health/live", content=b"x" * 2_000_000)
    assert_problem(response, 413, "payload_too_large")


async def test_streamed_oversized_body_is_a_problem_413(probe_client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(40):
            yield b"x" * 65_536

    response = await probe_client.post("/probe/validate", content=chunks())
    assert_problem(response, 413, "payload_too_large")


async def test_validation_error_keeps_fastapi_detail_list(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post("/probe/validate", json={"email": "a@example.com", "password": "x", "age": "7"})
    body = assert_problem(response, 422, "validation_failed")
    by_field = {tuple(error["loc"]): error for error in body["detail"]}
    assert set(by_field) == {("body", "password"), ("body", "age")}
    assert by_field[("body", "password")]["type"] == "string_too_short"
    assert by_field[("body", "age")]["type"] == "int_type"  # strict: "7" is not coerced
    assert by_field[("body", "age")]["input"] == "7"  # non-secret values are echoed as FastAPI does


async def test_validation_error_never_echoes_secret_values(probe_client: httpx.AsyncClient) -> None:
    secret = "tiny-secret"
    response = await probe_client.post("/probe/validate", json={"email": "a@example.com", "password": secret})
    assert_problem(response, 422, "validation_failed")
    assert secret not in response.text

    # A body of the wrong shape is echoed whole by FastAPI; its secret members must not be.
    response = await probe_client.post("/probe/validate", json=[{"password": secret}])
    assert_problem(response, 422, "validation_failed")
    assert secret not in response.text


async def test_unknown_body_field_is_rejected(probe_client: httpx.AsyncClient) -> None:
    body = {"email": "a@example.com", "password": "long-enough-password", "role": "admin"}
    problem = assert_problem(await probe_client.post("/probe/validate", json=body), 422, "validation_failed")
    assert [error["type"] for error in problem["detail"]] == ["extra_forbidden"]


async def test_malformed_json_is_a_problem_422(probe_client: httpx.AsyncClient) -> None:
    response = await probe_client.post(
        "/probe/validate", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation_failed")


async def test_unknown_query_parameter_is_rejected(probe_client: httpx.AsyncClient) -> None:
    assert (await probe_client.get("/probe/query", params={"limit": "5"})).json() == {"rows": 5}
    problem = assert_problem(await probe_client.get("/probe/query", params={"sort": "x"}), 422, "validation_failed")
    assert problem["detail"][0]["loc"] == ["query", "sort"]


async def test_domain_error_keeps_its_status_code_and_detail(probe_client: httpx.AsyncClient) -> None:
    body = assert_problem(await probe_client.post("/probe/conflict"), 409, "conflict")
    assert body["detail"] == "That name is taken."


async def test_unexpected_error_is_a_generic_500(
    probe_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await probe_client.post("/probe/boom", headers={"X-Request-ID": "boom-request-1"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "boom-request-1"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    # ...while the log keeps the whole story, traceback included.
    [logged] = events(caplog, "unhandled exception")
    assert logged["request_id"] == "boom-request-1"
    assert "hunter2" in repr(logged["exc_info"])


async def test_failure_inside_middleware_still_answers_with_request_id(probe_app, settings) -> None:
    from app.main import create_app

    app = create_app(settings)

    class BrokenMiddleware:
        def __init__(self, inner) -> None:
            self.inner = inner

        async def __call__(self, scope, receive, send) -> None:
            raise RuntimeError("middleware bug")

    app.add_middleware(BrokenMiddleware)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/health/live")
    assert_problem(response, 500, "internal_error")
