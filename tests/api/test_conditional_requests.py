"""Conditional requests (RFC 9110 §8.8.3, §13; SPEC §6): ETags from row versions, 304 and 412,
and concurrent writes to one row that never both win silently."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import TextClause, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.conditional import ResourceTags
from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from app.main import create_app
from app.models.outbox import JobOutbox
from app.models.post import Post
from app.resources import Resources
from app.schemas.posts import PostRead
from tests.support.factories import StoredUser, bearer, create_post, create_user
from tests.support.problems import assert_problem
from tests.support.races import race_held

CONCURRENT_WRITERS = 10


@pytest.fixture
async def author(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, name="Author")


@pytest.fixture
async def draft(db_session: AsyncSession, author: StoredUser) -> Post:
    return await create_post(db_session, author.user)


def _headers(author: StoredUser, settings: Settings, **extra: str) -> dict[str, str]:
    return {**bearer(author.user, settings), **{name.replace("_", "-"): value for name, value in extra.items()}}


async def _etag(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


async def _stored_title(db_session: AsyncSession, post_id: uuid.UUID) -> str:
    return str(await db_session.scalar(select(Post.title).where(Post.id == post_id)))


async def _event_rows(db_session: AsyncSession) -> int:
    statement = select(func.count()).select_from(JobOutbox).where(JobOutbox.job_name == "dispatch_event")
    return int(await db_session.scalar(statement) or 0)


# --- ETags and If-None-Match ----------------------------------------------------------------


async def test_reads_carry_a_strong_etag_that_every_write_changes(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    first = await _etag(client, url, headers)
    assert first.startswith('"'), first  # strong: no W/ prefix
    assert first.endswith('"'), first

    patched = await client.patch(url, json={"title": "Second thoughts"}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] != first
    assert await _etag(client, url, headers) == patched.headers["etag"]
    assert await _etag(client, url, headers) == patched.headers["etag"]  # reading changes nothing


async def test_a_created_post_comes_with_its_etag_and_location(
    client: httpx.AsyncClient, author: StoredUser, settings: Settings
) -> None:
    headers = _headers(author, settings)
    created = await client.post("/v1/posts", json={"title": "Hello", "body": "World"}, headers=headers)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"/v1/posts/{created.json()['id']}"
    assert await _etag(client, location, headers) == created.headers["etag"]


@pytest.mark.parametrize(
    "condition",
    [
        "{etag}",
        "W/{etag}",  # If-None-Match compares weakly: a cache that weakened our tag still matches
        '"elsewhere", {etag}',
        ' ,"elsewhere" , {etag} ,',  # empty list elements are allowed
        "*",
    ],
)
async def test_if_none_match_naming_the_current_etag_is_304_without_a_body(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings, condition: str
) -> None:
    url = f"/v1/posts/{draft.id}"
    etag = await _etag(client, url, _headers(author, settings))
    response = await client.get(url, headers=_headers(author, settings, if_none_match=condition.format(etag=etag)))
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert "content-type" not in response.headers


async def test_a_list_split_over_several_header_lines_is_read_whole(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url = f"/v1/posts/{draft.id}"
    etag = await _etag(client, url, _headers(author, settings))
    lines = [*bearer(author.user, settings).items(), ("If-None-Match", '"other"'), ("If-None-Match", etag)]
    response = await client.get(url, headers=lines)
    assert response.status_code == 304


async def test_if_none_match_with_an_old_etag_gets_the_new_representation(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    old = await _etag(client, url, headers)
    await client.patch(url, json={"body": "Rewritten."}, headers=headers)
    response = await client.get(url, headers={**headers, "If-None-Match": old})
    assert response.status_code == 200
    assert response.json()["body"] == "Rewritten."
    assert response.headers["etag"] != old


async def test_accounts_answer_304_too(client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings) -> None:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    for url in ("/v1/users/me", f"/v1/users/{admin.user.id}"):
        etag = await _etag(client, url, _headers(admin, settings))
        response = await client.get(url, headers=_headers(admin, settings, if_none_match=etag))
        assert (response.status_code, response.content, response.headers["etag"]) == (304, b"", etag)


async def test_sql_writes_outside_the_orm_change_the_etag_too(
    client: httpx.AsyncClient, db_session: AsyncSession, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    before = await _etag(client, url, headers)
    await db_session.execute(text("UPDATE post SET body = 'edited by hand' WHERE id = :id"), {"id": draft.id})
    await db_session.commit()
    assert await _etag(client, url, headers) != before


def test_a_change_to_the_representation_changes_every_etag(draft: Post) -> None:
    class PostReadWithAnExtraField(PostRead):
        reading_minutes: int

    assert ResourceTags(PostRead).of(draft) == ResourceTags(PostRead).of(draft)
    assert ResourceTags(PostReadWithAnExtraField).of(draft) != ResourceTags(PostRead).of(draft)


@pytest.mark.parametrize("header", ["If-None-Match", "If-Match"])
@pytest.mark.parametrize("value", ["3", "W/3", '"unterminated', '"a" "b"', '"a"; x', "*, *"])
async def test_malformed_entity_tags_are_422_naming_the_header(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings, header: str, value: str
) -> None:
    url = f"/v1/posts/{draft.id}"
    headers = {**bearer(author.user, settings), header: value}
    if header == "If-Match":
        response = await client.patch(url, json={"title": "Never saved"}, headers=headers)
    else:
        response = await client.get(url, headers=headers)
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["detail"][0]["loc"] == ["header", header.lower()]


# --- If-Match and If-None-Match on writes -------------------------------------------------------


async def test_a_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    stale = await _etag(client, url, headers)
    await client.patch(url, json={"title": "Someone else's edit"}, headers=headers)

    response = await client.patch(url, json={"title": "Lost update"}, headers={**headers, "If-Match": stale})
    problem = assert_problem(response, 412, "precondition_failed")
    assert problem["title"] == "Precondition failed"
    assert await _stored_title(db_session, draft.id) == "Someone else's edit"

    deleted = await client.delete(url, headers={**headers, "If-Match": stale})
    assert_problem(deleted, 412, "precondition_failed")
    assert await _stored_title(db_session, draft.id) == "Someone else's edit"


@pytest.mark.parametrize("condition", ["{etag}", '"elsewhere", {etag}', "*"])
async def test_a_current_if_match_lets_the_write_through_and_returns_the_new_etag(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings, condition: str
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    etag = await _etag(client, url, headers)
    response = await client.patch(
        url, json={"title": "Checked edit"}, headers={**headers, "If-Match": condition.format(etag=etag)}
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Checked edit"
    assert response.headers["etag"] not in (etag, "")
    assert response.headers["etag"] == await _etag(client, url, headers)


async def test_a_weak_tag_never_satisfies_if_match(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    etag = await _etag(client, url, headers)
    response = await client.patch(url, json={"title": "Weak"}, headers={**headers, "If-Match": f"W/{etag}"})
    assert_problem(response, 412, "precondition_failed")  # If-Match uses the strong comparison


async def test_delete_with_the_current_etag_deletes(
    client: httpx.AsyncClient, db_session: AsyncSession, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    etag = await _etag(client, url, headers)
    response = await client.delete(url, headers={**headers, "If-Match": etag})
    assert response.status_code == 204
    assert await db_session.scalar(select(func.count()).select_from(Post)) == 0


async def test_if_none_match_on_a_write_is_412_when_it_names_the_current_version(
    client: httpx.AsyncClient, draft: Post, author: StoredUser, settings: Settings
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    for condition in ("*", await _etag(client, url, headers)):
        response = await client.patch(url, json={"title": "Never"}, headers={**headers, "If-None-Match": condition})
        assert_problem(response, 412, "precondition_failed")
    response = await client.patch(url, json={"title": "Fine"}, headers={**headers, "If-None-Match": '"old"'})
    assert response.status_code == 200


async def test_preconditions_come_after_not_found(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    # RFC 9110 §13.2.1: a request that would fail without its preconditions fails the same way with them.
    someone_else = await create_user(db_session, settings)
    their_post = await create_post(db_session, someone_else.user)
    for url in ("/v1/posts/00000000-0000-0000-0000-000000000000", f"/v1/posts/{their_post.id}"):
        response = await client.patch(url, json={"title": "x"}, headers=_headers(author, settings, if_match="*"))
        assert_problem(response, 404, "not_found")


async def test_accounts_refuse_a_stale_if_match(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    member = await create_user(db_session, settings)
    for url, reader in (("/v1/users/me", member), (f"/v1/users/{member.user.id}", admin)):
        headers = _headers(reader, settings)
        stale = await _etag(client, url, headers)
        renamed = await client.patch(
            url, json={"name": f"Renamed by {reader.email}"}, headers={**headers, "If-Match": stale}
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.headers["etag"] == await _etag(client, url, headers)
        response = await client.patch(url, json={"name": "Second"}, headers={**headers, "If-Match": stale})
        assert_problem(response, 412, "precondition_failed")
    response = await client.delete("/v1/users/me", headers=_headers(member, settings, if_match='"0-stale"'))
    assert_problem(response, 412, "precondition_failed")
    assert (await client.get("/v1/users/me", headers=bearer(member.user, settings))).status_code == 200


# --- Racing writers ---------------------------------------------------------------------------


def _lock_row(post: Post) -> TextClause:
    # Held by the test while the writers arrive, so that all of them are in flight at once.
    return text(f"SELECT 1 FROM post WHERE id = '{post.id}' FOR UPDATE")  # noqa: S608 - a UUID


@pytest.fixture
async def racing_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with a pool wide enough for every writer at once: each holds a connection while it waits."""
    database = settings.database.model_copy(update={"pool_size": CONCURRENT_WRITERS + 2, "max_overflow": 0})
    application = create_app(settings.model_copy(update={"database": database}))
    async with application.router.lifespan_context(application):
        yield application


async def test_racing_publishes_announce_the_post_once(
    racing_app: FastAPI, db_session: AsyncSession, draft: Post, author: StoredUser, settings: Settings
) -> None:
    request = {
        "method": "PATCH",
        "url": f"/v1/posts/{draft.id}",
        "json": {"status": "published"},
        "headers": bearer(author.user, settings),
    }
    resources: Resources = racing_app.state.resources
    responses = await race_held(
        racing_app, resources, [request] * CONCURRENT_WRITERS, lock=_lock_row(draft), blocked=CONCURRENT_WRITERS
    )
    assert [response.status_code for response in responses] == [200] * CONCURRENT_WRITERS
    assert await _event_rows(db_session) == 1
    # One publish, one date: later writers saw the post already published and changed nothing.
    assert len({response.json()["published_at"] for response in responses}) == 1


async def test_racing_writers_with_one_etag_have_exactly_one_winner(
    racing_app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    draft: Post,
    author: StoredUser,
    settings: Settings,
) -> None:
    url, headers = f"/v1/posts/{draft.id}", _headers(author, settings)
    etag = await _etag(client, url, headers)
    requests = [
        {"method": "PATCH", "url": url, "json": {"title": f"Writer {n}"}, "headers": {**headers, "If-Match": etag}}
        for n in range(CONCURRENT_WRITERS)
    ]
    resources: Resources = racing_app.state.resources
    responses = await race_held(racing_app, resources, requests, lock=_lock_row(draft), blocked=CONCURRENT_WRITERS)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * (CONCURRENT_WRITERS - 1)
    [winner] = [response for response in responses if response.status_code == 200]
    assert await _stored_title(db_session, draft.id) == winner.json()["title"]


async def test_a_write_from_an_outdated_read_is_refused_not_applied(
    probe_client: httpx.AsyncClient, db_session: AsyncSession, draft: Post
) -> None:
    # The safety net under the row lock: code that forgets to lock still cannot overwrite a newer version.
    response = await probe_client.post("/probe/stale-write", params={"post_id": str(draft.id)})
    assert_problem(response, 409, "conflict")
    assert await _stored_title(db_session, draft.id) == "changed meanwhile"


# --- the contract, as OpenAPI tells it ----------------------------------------------------------


def _header_parameters(operation: dict[str, Any]) -> set[str]:
    return {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "header"}


def test_openapi_documents_the_conditional_and_idempotency_headers(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path in ("/v1/posts/{post_id}", "/v1/users/me", "/v1/users/{user_id}"):
        read = paths[path]["get"]
        assert "If-None-Match" in _header_parameters(read), path
        assert "304" in read["responses"], path
        for method in ("patch", "delete"):
            if method in paths[path]:
                assert {"If-Match", "If-None-Match"} <= _header_parameters(paths[path][method]), (method, path)
                assert "412" in paths[path][method]["responses"], (method, path)
    for path in ("/v1/posts", "/v1/webhooks", "/v1/auth/signup"):
        create = paths[path]["post"]
        assert "Idempotency-Key" in _header_parameters(create), path
        assert {"409", "422"} <= set(create["responses"]), path
