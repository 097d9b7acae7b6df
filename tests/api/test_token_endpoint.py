"""POST /v1/auth/token as RFC 6749 has it (§4.3, §5.1, §5.2, §6), on the wire.

Every refusal is a 400 (429 for a limit) whose Problem Details body also carries
RFC 6749's `error` and `error_description`; the endpoint never answers 422. The
third-party clients' view of the same rules is in tests/interop/test_oauth2_clients.py.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from tests.api.test_rate_limits import limits
from tests.support.factories import StoredUser, create_user
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem

TOKEN = "/v1/auth/token"
RFC6749_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
}
# RFC 6749 §5.2: error_description is printable ASCII without `"` and `\`.
ERROR_DESCRIPTION = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]+$")


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


def assert_token_error(response: httpx.Response, error: str, status: int = 400) -> dict[str, Any]:
    code = "rate_limited" if status == 429 else error
    body = assert_problem(response, status, code)
    assert body["error"] == error
    assert error in RFC6749_ERRORS
    assert ERROR_DESCRIPTION.match(body["error_description"]), body["error_description"]
    return body


def assert_not_cached(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def password_grant(client: httpx.AsyncClient, user: StoredUser, **form: str) -> dict[str, Any]:
    response = await client.post(
        TOKEN, data={"grant_type": "password", "username": user.email, "password": user.password, **form}
    )
    assert response.status_code == 200, response.text
    assert_not_cached(response)
    body: dict[str, Any] = response.json()
    return body


async def test_the_refresh_token_grant_rotates_the_pair(client: httpx.AsyncClient, member: StoredUser) -> None:
    first = await password_grant(client, member)
    response = await client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    assert_not_cached(response)
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"]
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 200


async def test_a_replayed_refresh_token_revokes_the_whole_sign_in(
    client: httpx.AsyncClient, member: StoredUser
) -> None:
    first = await password_grant(client, member)
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = (await client.post(TOKEN, data=refresh)).json()
    assert_token_error(await client.post(TOKEN, data=refresh), "invalid_grant")
    # The thief's replay ended the legitimate holder's chain too.
    later = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    assert_token_error(await client.post(TOKEN, data=later), "invalid_grant")


async def test_refresh_narrows_the_access_token_but_the_new_refresh_token_keeps_the_grant(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    first = await password_grant(client, admin)
    narrowed = await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "users:read"}
    )
    assert narrowed.json()["scope"] == "users:read"
    # RFC 6749 §6: the next refresh without `scope` gets the original grant back.
    again = await client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": narrowed.json()["refresh_token"]}
    )
    assert again.json()["scope"] == "posts:write users:read users:write"


async def test_refresh_with_a_wider_scope_is_invalid_scope_and_spends_nothing(
    client: httpx.AsyncClient, member: StoredUser
) -> None:
    first = await password_grant(client, member)
    wider = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "posts:write users:read"}
    body = assert_token_error(await client.post(TOKEN, data=wider), "invalid_scope")
    assert "users:read" in body["error_description"]
    still_good = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert (await client.post(TOKEN, data=still_good)).status_code == 200


MALFORMED: dict[str, tuple[dict[str, Any], str]] = {
    "username missing": ({"data": {"grant_type": "password", "password": "x"}}, "invalid_request"),
    "password missing": ({"data": {"grant_type": "password", "username": "a@example.com"}}, "invalid_request"),
    "refresh_token missing": ({"data": {"grant_type": "refresh_token"}}, "invalid_request"),
    "empty body": ({}, "invalid_request"),
    "a parameter twice": (
        {"content": b"grant_type=password&username=a%40example.com&username=b%40example.com&password=x"},
        "invalid_request",
    ),
    "JSON instead of a form": (
        {"json": {"grant_type": "password", "username": "a@example.com", "password": "x"}},
        "invalid_request",
    ),
    "a form without its content type": (
        {"content": b"grant_type=password&username=a%40example.com&password=x"},
        "invalid_request",
    ),
    "multipart instead of urlencoded": (
        {"files": {"username": (None, "a@example.com"), "password": (None, "x")}},
        "invalid_request",
    ),
    "bytes that are no form": ({"content": b"\xff\xfe\x00\x01", "headers": {}}, "invalid_request"),
    "NUL in the username": ({"data": {"username": "a\x00@example.com", "password": "x"}}, "invalid_request"),
    "NUL in the refresh token": (
        {"data": {"grant_type": "refresh_token", "refresh_token": "abc\x00"}},
        "invalid_request",
    ),
    "an over-long username": ({"data": {"username": "x" * 400, "password": "x"}}, "invalid_request"),
    "an empty password": ({"data": {"username": "a@example.com", "password": ""}}, "invalid_request"),
    "client_credentials": ({"data": {"grant_type": "client_credentials"}}, "unsupported_grant_type"),
    "authorization_code": ({"data": {"grant_type": "authorization_code", "code": "x"}}, "unsupported_grant_type"),
    # RFC 6749 §3.1: a parameter without a value counts as omitted, so this is a password grant without a password.
    "an empty grant_type": ({"data": {"grant_type": "", "username": "a@example.com"}}, "invalid_request"),
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("case", MALFORMED)
async def test_every_malformed_request_is_a_400_with_an_oauth2_error_never_a_422(
    client: httpx.AsyncClient, case: str
) -> None:
    request, error = MALFORMED[case]
    if "content" in request and "headers" not in request and case != "a form without its content type":
        request = {**request, "headers": FORM}
    body = assert_token_error(await client.post(TOKEN, **request), error)
    assert isinstance(body["detail"], str)
    assert "x\x00" not in body["error_description"]


async def test_unknown_parameters_and_client_credentials_are_ignored(
    client: httpx.AsyncClient, member: StoredUser
) -> None:
    # RFC 6749 §3.2: unknown parameters are ignored. No client is registered, so none is authenticated.
    await password_grant(client, member, client_id="any-client", client_secret="", resource="https://x")
    response = await client.post(
        TOKEN,
        data={"grant_type": "password", "username": member.email, "password": member.password},
        auth=("any-client", "any-secret"),
    )
    assert response.status_code == 200, response.text


async def test_a_missing_grant_type_means_the_password_grant(client: httpx.AsyncClient, member: StoredUser) -> None:
    response = await client.post(TOKEN, data={"username": member.email, "password": member.password})
    assert response.status_code == 200, response.text


async def test_the_rate_limit_is_429_with_retry_after_and_an_oauth2_error(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, member: StoredUser
) -> None:
    override_settings(app, settings, rate_limit=limits(token="100/minute", token_per_account="1/minute"))
    form = {"grant_type": "password", "username": member.email, "password": member.password}
    assert (await client.post(TOKEN, data=form)).status_code == 200
    response = await client.post(TOKEN, data=form)
    assert_token_error(response, "invalid_request", status=429)
    assert int(response.headers["retry-after"]) > 0


async def test_errors_of_the_refresh_alias_speak_oauth2_too(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/auth/refresh", json={"refresh_token": "never-issued"})
    assert_token_error(response, "invalid_grant")
    assert_token_error(
        await client.post("/v1/auth/refresh", content=b"{", headers={"Content-Type": "application/json"}),
        "invalid_request",
    )


async def test_the_refresh_alias_works_and_is_not_cached(client: httpx.AsyncClient, member: StoredUser) -> None:
    first = await password_grant(client, member)
    response = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    assert_not_cached(response)


async def test_the_alias_is_deprecated_and_the_token_endpoint_documents_no_422(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/v1/auth/refresh"]["post"]["deprecated"] is True
    token = paths["/v1/auth/token"]["post"]
    assert set(token["responses"]) == {"200", "400", "429"}
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["$ref"].endswith("/TokenRequest")
