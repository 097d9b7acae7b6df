"""/v1/posts: writing, publishing, reading and listing posts (SPEC §3 Posts; SCH-2, SCH-4, DEP-5, JOB-2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models.outbox import JobOutbox
from app.models.post import Post
from tests.support.factories import PostCreateFactory, StoredUser, bearer, create_post, create_user
from tests.support.problems import assert_problem

POST_FIELDS = {"id", "author_id", "title", "body", "status", "published_at", "created_at", "updated_at"}
MISSING_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def author(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, name="Author")


@pytest.fixture
async def stranger(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, name="Stranger")


async def _post_count(db_session: AsyncSession) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(Post)) or 0)


async def _published_events(db_session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of every `dispatch_event` job in the outbox, oldest first."""
    rows = await db_session.scalars(
        select(JobOutbox).where(JobOutbox.job_name == "dispatch_event").order_by(JobOutbox.created_at)
    )
    return [(row.payload["event"], row.payload["data"]) for row in rows]


def _comparable(problem: dict[str, Any]) -> dict[str, Any]:
    """A Problem Details body without the members that differ per request."""
    return {key: value for key, value in problem.items() if key not in ("instance", "request_id")}


# --- creating -----------------------------------------------------------------------------


async def test_create_a_draft(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    body = PostCreateFactory.build().model_dump(exclude={"status"})
    response = await client.post("/v1/posts", json=body, headers=bearer(author.user, settings))
    assert response.status_code == 201, response.text
    post = response.json()
    assert set(post) == POST_FIELDS
    assert (post["title"], post["body"]) == (body["title"], body["body"])
    assert post["author_id"] == str(author.user.id)
    assert post["status"] == "draft"
    assert post["published_at"] is None
    assert post["created_at"].endswith("+00:00")
    assert await _published_events(db_session) == []


async def test_creating_a_published_post_records_its_event(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    body = PostCreateFactory.build(status="published").model_dump(mode="json")
    response = await client.post("/v1/posts", json=body, headers=bearer(author.user, settings))
    assert response.status_code == 201, response.text
    post = response.json()
    assert post["status"] == "published"
    assert post["published_at"].endswith("+00:00")
    assert await _published_events(db_session) == [("post.published", post)]


async def test_creating_needs_a_token_with_posts_write(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    body = PostCreateFactory.build().model_dump(mode="json")
    without_scope = bearer(author.user, settings, scopes=[])
    problem = assert_problem(await client.post("/v1/posts", json=body, headers=without_scope), 403, "permission_denied")
    assert "posts:write" in problem["detail"]
    assert_problem(await client.post("/v1/posts", json=body), 401, "authentication_failed")
    assert await _post_count(db_session) == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"author_id": "00000000-0000-0000-0000-000000000001"},
        {"id": "00000000-0000-0000-0000-000000000001"},
        {"published_at": "2020-01-01T00:00:00Z"},
        {"role": "admin"},
    ],
)
async def test_unknown_fields_are_rejected_and_change_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings, extra: dict[str, str]
) -> None:
    body = {**PostCreateFactory.build().model_dump(mode="json"), **extra}
    response = await client.post("/v1/posts", json=body, headers=bearer(author.user, settings))
    problem = assert_problem(response, 422, "validation_failed")
    assert [error["type"] for error in problem["detail"]] == ["extra_forbidden"]
    assert await _post_count(db_session) == 0


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("title", 42, "string_type"),
        ("title", "", "string_too_short"),
        ("title", "   ", "string_too_short"),
        ("title", "x" * 201, "string_too_long"),
        ("body", ["not", "text"], "string_type"),
        ("status", "archived", "enum"),
        ("status", 1, "enum"),
    ],
)
async def test_invalid_fields_are_422_without_coercion(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    author: StoredUser,
    settings: Settings,
    field: str,
    value: object,
    error_type: str,
) -> None:
    body = {**PostCreateFactory.build().model_dump(mode="json"), field: value}
    response = await client.post("/v1/posts", json=body, headers=bearer(author.user, settings))
    [error] = assert_problem(response, 422, "validation_failed")["detail"]
    assert (error["loc"], error["type"]) == (["body", field], error_type)
    assert await _post_count(db_session) == 0


async def test_a_missing_title_is_422(client: httpx.AsyncClient, author: StoredUser, settings: Settings) -> None:
    response = await client.post("/v1/posts", json={"body": "No title."}, headers=bearer(author.user, settings))
    [error] = assert_problem(response, 422, "validation_failed")["detail"]
    assert (error["loc"], error["type"]) == (["body", "title"], "missing")


async def test_whitespace_around_title_and_body_is_stripped(
    client: httpx.AsyncClient, author: StoredUser, settings: Settings
) -> None:
    body = {"title": "  Spaced out  ", "body": "\n Text \n"}
    post = (await client.post("/v1/posts", json=body, headers=bearer(author.user, settings))).json()
    assert (post["title"], post["body"]) == ("Spaced out", "Text")


# --- reading ------------------------------------------------------------------------------


async def test_anyone_reads_a_published_post(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser
) -> None:
    post = await create_post(db_session, author.user, status="published")
    response = await client.get(f"/v1/posts/{post.id}")
    assert response.status_code == 200
    assert response.json()["id"] == str(post.id)


async def test_a_draft_is_visible_to_its_author_only(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, stranger: StoredUser, settings: Settings
) -> None:
    draft = await create_post(db_session, author.user)
    url = f"/v1/posts/{draft.id}"
    assert (await client.get(url, headers=bearer(author.user, settings))).json()["status"] == "draft"
    missing = assert_problem(await client.get(f"/v1/posts/{MISSING_ID}"), 404, "not_found")
    for headers in ({}, bearer(stranger.user, settings)):
        hidden = assert_problem(await client.get(url, headers=headers), 404, "not_found")
        assert _comparable(hidden) == _comparable(missing)  # nothing tells "hidden" from "absent"


async def test_a_bad_token_is_401_even_where_a_token_is_optional(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser
) -> None:
    post = await create_post(db_session, author.user, status="published")
    response = await client.get(f"/v1/posts/{post.id}", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(response, 401, "authentication_failed")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_a_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/posts/not-a-uuid"), 422, "validation_failed")


# --- changing and deleting ------------------------------------------------------------------


async def test_the_author_updates_a_post(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    post = await create_post(db_session, author.user)
    url, headers = f"/v1/posts/{post.id}", bearer(author.user, settings)

    retitled = await client.patch(url, json={"title": "Retitled"}, headers=headers)
    assert retitled.status_code == 200, retitled.text
    assert (retitled.json()["title"], retitled.json()["body"]) == ("Retitled", post.body)

    rewritten = (await client.patch(url, json={"body": "Rewritten."}, headers=headers)).json()
    assert (rewritten["title"], rewritten["body"], rewritten["status"]) == ("Retitled", "Rewritten.", "draft")
    assert datetime.fromisoformat(rewritten["updated_at"]) > datetime.fromisoformat(rewritten["created_at"])


async def test_publishing_emits_each_time_a_draft_becomes_published(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    post = await create_post(db_session, author.user)
    url, headers = f"/v1/posts/{post.id}", bearer(author.user, settings)

    first = (await client.patch(url, json={"status": "published"}, headers=headers)).json()
    assert first["published_at"] is not None
    assert await _published_events(db_session) == [("post.published", first)]

    # Editing a published post, or publishing it again while published, is not a new publication.
    await client.patch(url, json={"title": "Edited", "status": "published"}, headers=headers)
    assert len(await _published_events(db_session)) == 1

    draft = (await client.patch(url, json={"status": "draft"}, headers=headers)).json()
    assert (draft["status"], draft["published_at"]) == ("draft", None)
    assert len(await _published_events(db_session)) == 1

    again = (await client.patch(url, json={"status": "published"}, headers=headers)).json()
    events = await _published_events(db_session)
    assert events[1:] == [("post.published", again)]
    assert datetime.fromisoformat(again["published_at"]) > datetime.fromisoformat(first["published_at"])


async def test_someone_elses_post_cannot_be_changed_or_deleted(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, stranger: StoredUser, settings: Settings
) -> None:
    missing = assert_problem(
        await client.patch(f"/v1/posts/{MISSING_ID}", json={"title": "x"}, headers=bearer(stranger.user, settings)),
        404,
        "not_found",
    )
    for status in ("published", "draft"):
        post = await create_post(db_session, author.user, status=status)
        url, headers = f"/v1/posts/{post.id}", bearer(stranger.user, settings)
        patched = assert_problem(await client.patch(url, json={"title": "Mine now"}, headers=headers), 404, "not_found")
        deleted = assert_problem(await client.delete(url, headers=headers), 404, "not_found")
        assert _comparable(patched) == _comparable(deleted) == _comparable(missing)
        await db_session.refresh(post)
        assert post.title != "Mine now"
        assert post.status == status
    assert await _post_count(db_session) == 2
    assert await _published_events(db_session) == []


async def test_changing_and_deleting_need_posts_write(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    post = await create_post(db_session, author.user)
    url, reader = f"/v1/posts/{post.id}", bearer(author.user, settings, scopes=[])
    assert_problem(await client.patch(url, json={"title": "x"}, headers=reader), 403, "permission_denied")
    assert_problem(await client.delete(url, headers=reader), 403, "permission_denied")
    assert_problem(await client.delete(url), 401, "authentication_failed")
    await db_session.refresh(post)
    assert post.title != "x"


@pytest.mark.parametrize(
    "change",
    [
        {"author_id": "00000000-0000-0000-0000-000000000001"},
        {"published_at": None},
        {"status": "archived"},
        {"title": ""},
    ],
)
async def test_invalid_changes_are_422_and_change_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings, change: dict[str, Any]
) -> None:
    post = await create_post(db_session, author.user)
    before = (post.author_id, post.title, post.status)
    response = await client.patch(f"/v1/posts/{post.id}", json=change, headers=bearer(author.user, settings))
    assert_problem(response, 422, "validation_failed")
    await db_session.refresh(post)
    assert (post.author_id, post.title, post.status) == before


async def test_the_author_deletes_a_post(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    post = await create_post(db_session, author.user, status="published")
    headers = bearer(author.user, settings)
    response = await client.delete(f"/v1/posts/{post.id}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"/v1/posts/{post.id}", headers=headers), 404, "not_found")


# --- listing --------------------------------------------------------------------------------


async def test_the_list_shows_published_posts_newest_first(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, stranger: StoredUser, settings: Settings
) -> None:
    older = await create_post(db_session, author.user, status="published")
    await create_post(db_session, author.user)  # a draft: never listed, not even for its author
    newer = await create_post(db_session, stranger.user, status="published")
    response = await client.get("/v1/posts", headers=bearer(author.user, settings))
    assert response.status_code == 200
    page = response.json()
    assert [post["id"] for post in page["items"]] == [str(newer.id), str(older.id)]
    assert (page["limit"], page["next_cursor"]) == (20, None)


async def test_author_id_keeps_one_authors_posts(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, stranger: StoredUser
) -> None:
    mine = await create_post(db_session, author.user, status="published")
    await create_post(db_session, stranger.user, status="published")
    response = await client.get("/v1/posts", params={"author_id": str(author.user.id)})
    assert [post["id"] for post in response.json()["items"]] == [str(mine.id)]


async def test_q_matches_title_or_body_whatever_the_case(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser
) -> None:
    in_title = await create_post(db_session, author.user, status="published", title="Notes on Lighthouses")
    in_body = await create_post(db_session, author.user, status="published", body="A LIGHTHOUSE keeper's day.")
    await create_post(db_session, author.user, status="published", title="Unrelated")
    await create_post(db_session, author.user, title="A lighthouse draft")
    response = await client.get("/v1/posts", params={"q": "lighthouse"})
    assert [post["id"] for post in response.json()["items"]] == [str(in_body.id), str(in_title.id)]


@pytest.mark.parametrize("q", ["%", "_", "\\"])
async def test_q_treats_wildcards_literally(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, q: str
) -> None:
    await create_post(db_session, author.user, status="published", title="Plain title", body="Plain body")
    response = await client.get("/v1/posts", params={"q": q})
    assert response.json()["items"] == []


async def test_keyset_pages_walk_every_post_once_newest_first(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser
) -> None:
    created = [await create_post(db_session, author.user, status="published") for _ in range(25)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/posts", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [post["id"] for post in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [str(post.id) for post in reversed(created)]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W10"},
        {"cursor": "WyJub3QtYS1kYXRlIiwiMDAiXQ"},
        {"author_id": "someone"},
        {"q": "x" * 101},
        {"status": "draft"},
    ],
)
async def test_bad_list_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str | int]) -> None:
    assert_problem(await client.get("/v1/posts", params=params), 422, "validation_failed")


# --- the table ------------------------------------------------------------------------------


async def test_the_table_refuses_a_status_the_api_does_not_know(db_session: AsyncSession, author: StoredUser) -> None:
    post = await create_post(db_session, author.user)
    with pytest.raises(IntegrityError, match="ck_post_status"):
        await db_session.execute(text("UPDATE post SET status = 'archived' WHERE id = :id"), {"id": post.id})
    await db_session.rollback()


async def test_deleting_an_author_deletes_their_posts(
    db_session: AsyncSession, author: StoredUser, stranger: StoredUser
) -> None:
    await create_post(db_session, author.user)
    kept = await create_post(db_session, stranger.user)
    await db_session.delete(author.user)
    await db_session.commit()
    assert list(await db_session.scalars(select(Post.id))) == [kept.id]
