"""Input PostgreSQL or JSON cannot carry is refused with a 422 naming the field, and every 422 renders.

NUL bytes and unpaired surrogates are refused by the input bases (`app/schemas/base.py`),
whichever endpoint and field they arrive in; the 422 renderer copes with any input
(NaN, 1e999, lone surrogates, deep nesting); a cursor we did not issue is a 422.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from app.schemas.page import KeysetCursor, encode_cursor
from tests.support.factories import bearer, create_post, create_user
from tests.support.problems import assert_problem

NUL = "\u0000"
LONE_SURROGATE = "\ud800"


@pytest.fixture
async def auth(db_session: AsyncSession, settings: Settings) -> dict[str, str]:
    admin = await create_user(db_session, settings, scopes=[scope.value for scope in SUPERUSER_SCOPES])
    return bearer(admin.user, settings)


# (method, path, where the text goes, field, a valid request around it)
TEXT_INPUTS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("POST", "/v1/auth/signup", "json", "name", {"email": "a@example.com", "name": "A", "password": "p" * 12}),
    ("POST", "/v1/auth/signup", "json", "password", {"email": "a@example.com", "name": "A", "password": "p" * 12}),
    ("POST", "/v1/auth/token", "form", "username", {"username": "a@example.com", "password": "p" * 12}),
    ("POST", "/v1/auth/token", "form", "password", {"username": "a@example.com", "password": "p" * 12}),
    ("POST", "/v1/auth/token", "form", "scope", {"username": "a@example.com", "password": "p", "scope": "x"}),
    ("POST", "/v1/auth/refresh", "json", "refresh_token", {"refresh_token": "abc"}),
    ("POST", "/v1/auth/logout", "json", "refresh_token", {"refresh_token": "abc"}),
    ("POST", "/v1/posts", "json", "title", {"title": "T", "body": "B"}),
    ("POST", "/v1/posts", "json", "body", {"title": "T", "body": "B"}),
    ("PATCH", "/v1/users/me", "json", "name", {"name": "N"}),
    ("PATCH", "/v1/users/me", "json", "current_password", {"password": "n" * 12, "current_password": "c"}),
    ("POST", "/v1/webhooks", "json", "description", {"url": "https://example.com/h", "events": ["post.published"]}),
    ("GET", "/v1/posts", "query", "q", {}),
    ("GET", "/v1/users", "query", "q", {}),
    ("GET", "/v1/posts", "query", "cursor", {}),
]


OAUTH2_TOKEN_ENDPOINTS = {"/v1/auth/token", "/v1/auth/refresh"}


def _with(valid: dict[str, Any], field: str, bad: str) -> dict[str, Any]:
    return {**valid, field: f"x{bad}y"}


async def _send(
    client: httpx.AsyncClient, method: str, path: str, kind: str, payload: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    if kind == "json":
        # ensure_ascii keeps a lone surrogate as its JSON escape, as an attacker would send it.
        content = json.dumps(payload).encode()
        headers = {**headers, "Content-Type": "application/json"}
        return await client.request(method, path, content=content, headers=headers)
    if kind == "form":
        return await client.request(method, path, data=payload, headers=headers)
    return await client.request(method, path, params=payload, headers=headers)


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(("method", "path", "kind", "field", "valid"), TEXT_INPUTS)
async def test_unstorable_text_in_any_input_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    method: str,
    path: str,
    kind: str,
    field: str,
    valid: dict[str, Any],
    bad: str,
) -> None:
    if kind != "json" and bad == LONE_SURROGATE:
        pytest.skip("a URL or form carries UTF-8 bytes, which cannot hold a lone surrogate (see the raw-bytes test)")
    response = await _send(client, method, path, kind, _with(valid, field, bad), auth)
    if path in OAUTH2_TOKEN_ENDPOINTS:
        # RFC 6749 §5.2 speaks there: a malformed parameter is a 400 `invalid_request`, never a 422.
        problem = assert_problem(response, 400, "invalid_request")
        assert problem["error"] == "invalid_request"
        return
    problem = assert_problem(response, 422, "validation_failed")
    assert [error["loc"][-1] for error in problem["detail"]] == [field]


async def test_nul_in_a_path_parameter_is_a_422(client: httpx.AsyncClient) -> None:
    problem = assert_problem(await client.get("/v1/posts/%00"), 422, "validation_failed")
    assert problem["detail"][0]["loc"] == ["path", "post_id"]


async def test_nul_in_an_unknown_field_name_is_still_a_rendered_422(client: httpx.AsyncClient) -> None:
    body = json.dumps({"email": "a@example.com", "name": "A", "password": "p" * 12, f"x{NUL}{LONE_SURROGATE}": 1})
    response = await client.post("/v1/auth/signup", content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "validation_failed")


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%00", "%C0%80", "x%F4%90%80%80"])
async def test_undecodable_bytes_in_a_query_string_never_fail_the_request(client: httpx.AsyncClient, raw: str) -> None:
    for path in (f"/v1/posts?q={raw}", f"/v1/posts?cursor={raw}", f"/v1/posts?{raw}=1"):
        response = await client.get(path)
        assert response.status_code in {200, 422}, response.text
        json.loads(response.content.decode("utf-8"), parse_constant=_refuse_constant)


FORM_BODIES = [
    b"username=%FF%FE&password=x",
    b"username=a%00b&password=x",
    b"username=\xff\xfe&password=\xc0\x80",
    b"username=" + b"a" * 5000 + b"&password=x",
    b"password=only",
    b"\x00\x00\x00",
    b"username=a&username=b&password=x&grant_type=refresh_token",
]


@pytest.mark.parametrize("raw", FORM_BODIES, ids=range(len(FORM_BODIES)))
async def test_any_token_form_gets_a_rendered_answer(client: httpx.AsyncClient, raw: bytes) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post("/v1/auth/token", content=raw, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    json.loads(response.content.decode("utf-8"), parse_constant=_refuse_constant)


# --- the 422 renderer ------------------------------------------------------------------------

RAW_BODIES = [
    b'{"title": 1e999, "body": "b"}',
    b'{"title": -1e999, "body": "b"}',
    b'{"title": NaN, "body": "b"}',
    b'{"title": -Infinity, "body": "b"}',
    b'{"title": "\\ud800", "body": 1}',
    b'{"title": ["\\udfff", NaN, {"\\ud800": Infinity}], "body": "b"}',
    b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b', "body": "b"}',
    b'{"title": ' + b"[" * 900 + b"]" * 900 + b', "body": "b"}',
    b'{"title": ' + b"9" * 5000 + b', "body": "b"}',
    b'{"title": "\xff\xfe caf\xe9", "body": "b"}',
    b"\xff\xfe\x00{",
    b'{"status": "\\ud800"}',
    b'[NaN, Infinity, "\\ud800"]',
]


def assert_renders(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    # Strict JSON: NaN, Infinity and lone surrogates would not parse here.
    json.loads(response.content.decode("utf-8"), parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


@pytest.mark.parametrize("raw", RAW_BODIES, ids=range(len(RAW_BODIES)))
async def test_every_422_renders_whatever_the_body_was(
    client: httpx.AsyncClient, auth: dict[str, str], raw: bytes
) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    assert_renders(await client.post("/v1/posts", content=raw, headers=headers))


_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # any code point, lone surrogates included
)
_json_values = st.recursive(
    _json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_fields = st.sampled_from(["title", "body", "status", "name", "email", "password", "url", "events", "extra"])


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    path=st.sampled_from(["/v1/posts", "/v1/auth/signup", "/v1/webhooks"]),
    body=st.dictionaries(_fields, _json_values, max_size=4) | _json_values,
)
async def test_any_json_body_gets_a_rendered_answer(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, body: object
) -> None:
    raw = json.dumps(body, allow_nan=True).encode()  # NaN/Infinity tokens and \ud800 escapes, as sent by anyone
    response = await client.post(path, content=raw, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    json.loads(response.content.decode("utf-8"), parse_constant=_refuse_constant)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(q=st.text(max_size=30), cursor=st.text(max_size=40), limit=st.text(max_size=6))
async def test_any_query_string_gets_a_rendered_answer(
    client: httpx.AsyncClient, q: str, cursor: str, limit: str
) -> None:
    params = {"q": q, "cursor": cursor, "limit": limit}
    # httpx percent-encodes UTF-8; a lone surrogate cannot be, so it goes as its escape text.
    safe = {key: value.encode("utf-8", "backslashreplace").decode() for key, value in params.items()}
    response = await client.get("/v1/posts", params=safe)
    assert response.status_code < 500, response.text
    json.loads(response.content.decode("utf-8"), parse_constant=_refuse_constant)


# --- cursors --------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _cursor_of(value: object) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


ROW_ID = uuid.uuid4().hex
FOREIGN_CURSORS = {
    "overflows-utc-low": _cursor_of(["0001-01-01T00:00:00+14:00", ROW_ID]),
    "overflows-utc-high": _cursor_of(["9999-12-31T23:59:59-14:00", ROW_ID]),
    "naive-timestamp": _cursor_of(["2026-01-01T00:00:00", ROW_ID]),
    "other-offset": _cursor_of(["2026-01-01T02:00:00+02:00", ROW_ID]),
    "int-timestamp": _cursor_of([1700000000, ROW_ID]),
    "int-id": _cursor_of(["2026-01-01T00:00:00+00:00", 5]),
    "huge-int-id": _cursor_of(["2026-01-01T00:00:00+00:00", 10**300]),
    "float-id": _cursor_of(["2026-01-01T00:00:00+00:00", 1e308]),
    "null-id": _cursor_of(["2026-01-01T00:00:00+00:00", None]),
    "dict": _cursor_of({"created_at": "2026-01-01T00:00:00+00:00", "id": ROW_ID}),
    "three-items": _cursor_of(["2026-01-01T00:00:00+00:00", ROW_ID, 1]),
    "string": _cursor_of("2026-01-01T00:00:00+00:00"),
    "braced-uuid": _cursor_of(["2026-01-01T00:00:00+00:00", "{" + str(uuid.UUID(ROW_ID)) + "}"]),
    "not-json": _b64(b"\xff\xfe\x00garbage"),
    "not-base64": "!!!$$$",
    "nan": _b64(b'[NaN, "' + ROW_ID.encode() + b'"]'),
    "spaced-json": _b64(json.dumps(["2026-01-01T00:00:00+00:00", ROW_ID]).encode()),
    "padded": _cursor_of(["2026-01-01T00:00:00+00:00", ROW_ID]) + "==",
    "empty": "",
    "too-long": "A" * 5000,
}


@pytest.mark.parametrize("cursor", FOREIGN_CURSORS.values(), ids=FOREIGN_CURSORS.keys())
async def test_a_cursor_we_did_not_issue_is_a_422(client: httpx.AsyncClient, cursor: str) -> None:
    problem = assert_problem(await client.get("/v1/posts", params={"cursor": cursor}), 422, "validation_failed")
    assert problem["detail"][0]["loc"] == ["query", "cursor"]


async def test_the_cursors_we_issue_still_page(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    author = await create_user(db_session, settings)
    for _ in range(3):
        await create_post(db_session, author.user, status="published")
    first = (await client.get("/v1/posts", params={"limit": 2})).json()
    second = await client.get("/v1/posts", params={"limit": 2, "cursor": first["next_cursor"]})
    assert second.status_code == 200
    assert len(second.json()["items"]) == 1


def test_an_issued_cursor_is_utc_whatever_the_zone_it_was_read_in() -> None:
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert encode_cursor(KeysetCursor(moment, uuid.UUID(ROW_ID))) == _cursor_of(["2026-01-01T00:00:00+00:00", ROW_ID])
