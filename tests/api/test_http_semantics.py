"""RFC 9110 where FastAPI leaves it to the server: HEAD on every GET route, a complete `Allow`, bodiless 204.

The route-wide checks walk the app's own OpenAPI document, so a route added later is checked too.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from tests.support.factories import bearer, create_post, create_user
from tests.support.problems import assert_problem

HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}


async def documented_paths(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = (await client.get("/openapi.json")).json()["paths"]
    return paths


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.fixture
async def admin_headers(db_session: AsyncSession, settings: Settings) -> dict[str, str]:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    return bearer(admin.user, settings)


async def test_head_answers_like_get_without_content_on_every_get_route(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    gets = [path for path, item in (await documented_paths(client)).items() if "get" in item]
    assert len(gets) >= 10
    for path in gets:
        url = concrete(path)
        get = await client.get(url, headers=admin_headers)
        head = await client.head(url, headers=admin_headers)
        assert head.status_code == get.status_code, (path, head.text)
        assert head.content == b"", path
        assert head.headers.get("content-type") == get.headers.get("content-type"), path


async def test_head_of_a_single_post_carries_the_get_headers(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    author = await create_user(db_session, settings)
    post = await create_post(db_session, author.user, status="published")
    get = await client.get(f"/v1/posts/{post.id}")
    head = await client.head(f"/v1/posts/{post.id}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]


async def test_allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.put("/v1/posts")
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD, POST"


def template_pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


async def test_every_path_answers_an_undeclared_method_with_its_full_allow(client: httpx.AsyncClient) -> None:
    paths = await documented_paths(client)
    for path in paths:
        url = concrete(path)
        # `/v1/posts/export` is also `/v1/posts/{post_id}`: a URL's methods are those of every template it fits.
        declared = {
            method.upper()
            for template, item in paths.items()
            if template_pattern(template).match(url)
            for method in item
        } & HTTP_METHODS
        if "GET" in declared:
            declared.add("HEAD")
        undeclared = sorted(HTTP_METHODS - declared)
        if not undeclared:
            continue
        response = await client.request(undeclared[0], url)
        assert response.status_code == 405, (path, undeclared[0], response.text)
        assert response.headers["allow"] == ", ".join(sorted(declared)), path


async def test_a_204_has_no_content_type_no_length_and_no_body(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    author = await create_user(db_session, settings)
    post = await create_post(db_session, author.user)
    deleted = await client.delete(f"/v1/posts/{post.id}", headers=bearer(author.user, settings))
    signed_out = await client.post("/v1/auth/logout", json={"refresh_token": "never-issued"})
    for response in (deleted, signed_out):
        assert response.status_code == 204
        assert "content-type" not in response.headers
        assert "content-length" not in response.headers
        assert response.content == b""


async def test_a_json_body_that_is_not_utf8_is_a_documented_422(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    author = await create_user(db_session, settings)
    response = await client.post(
        "/v1/posts",
        content='{"title": "caf\xe9", "body": "x"}'.encode("latin-1"),
        headers={"Content-Type": "application/json", **bearer(author.user, settings)},
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["detail"][0]["type"] == "json_invalid"
