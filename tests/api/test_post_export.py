"""GET /v1/posts/export: progress from a worker thread, streamed as Server-Sent Events (SPEC §3 Streaming; ASY-7)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import DbSession
from app.api.security import CurrentUser
from app.api.v1 import posts as posts_api
from app.core.config import Settings
from app.models.post import Post
from app.resources import Resources
from app.schemas.posts import PostRead
from tests.support.factories import PostCreateFactory, StoredUser, bearer, create_post, create_user
from tests.support.logs import events
from tests.support.problems import assert_problem

EXPORT = "/v1/posts/export"


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]


async def read_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Parse a text/event-stream: `event:` and `data:` lines, one event per blank line; comments skipped."""
    name, data = "message", []
    async for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif not line and data:
            yield Event(name, json.loads("\n".join(data)))
            name, data = "message", []


async def eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    """Wait for something the server does in its own tasks and threads."""
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"still not true after {seconds}s")


async def export(client: httpx.AsyncClient, headers: dict[str, str], export_format: str) -> list[Event]:
    async with client.stream("GET", EXPORT, params={"format": export_format}, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        return [event async for event in read_events(response.aiter_lines())]


@pytest.fixture
async def author(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, name="Author")


@pytest.fixture
async def served_app(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn server on a free local port; yields its base URL.

    ASGITransport tells the app the client went away only after the whole response
    was sent: leaving in the middle of a stream needs a real connection.
    """
    # The app's lifespan already runs (the session fixture); our middleware writes the access log.
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, ws="none")
    server = uvicorn.Server(config)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        await eventually(lambda: server.started)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        server.should_exit = True
        await serving


async def _many_posts(db_session: AsyncSession, author: StoredUser, count: int) -> None:
    """`count` drafts by `author`, in one commit."""
    db_session.add_all(
        Post(author_id=author.user.id, title=body.title, body=body.body, status=body.status)
        for body in PostCreateFactory.batch(count)
    )
    await db_session.commit()


class HeldPosts(Sequence[PostRead]):
    """The caller's real posts, but the thread rendering them is held at row `held_at` until `release` is set.

    It lets a test leave while the export is provably still running, whatever the machine's speed.
    """

    def __init__(self, posts: Sequence[PostRead], held_at: int) -> None:
        self.posts = posts
        self.held_at = held_at
        self.release = threading.Event()

    def __len__(self) -> int:
        return len(self.posts)

    def __getitem__(self, index):  # Sequence's overloads (int, slice) are more than this test needs
        if index == self.held_at:
            self.release.wait(timeout=10)
        return self.posts[index]


async def test_progress_then_the_csv_of_my_posts_drafts_included(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    stranger = await create_user(db_session, settings)
    mine = [
        await create_post(db_session, author.user, title="First, with a comma", body='Says "hi"\non two lines'),
        await create_post(db_session, author.user, status="published"),
    ]
    await create_post(db_session, stranger.user, status="published")

    received = await export(client, bearer(author.user, settings), "csv")

    assert [event.name for event in received] == ["progress", "progress", "progress", "complete"]
    assert [event.data for event in received[:-1]] == [{"done": done, "total": 2} for done in (0, 1, 2)]
    complete = received[-1].data
    assert (complete["format"], complete["row_count"]) == ("csv", 2)
    rows = list(csv.DictReader(io.StringIO(complete["content"])))
    expected = [PostRead.model_validate(post).model_dump(mode="json") for post in mine]
    assert rows == [{key: "" if value is None else value for key, value in post.items()} for post in expected]


async def test_ndjson_lines_are_the_posts_as_the_api_shows_them(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    draft = await create_post(db_session, author.user)
    published = await create_post(db_session, author.user, status="published")
    headers = bearer(author.user, settings)

    complete = (await export(client, headers, "ndjson"))[-1]

    assert (complete.name, complete.data["format"], complete.data["row_count"]) == ("complete", "ndjson", 2)
    lines = complete.data["content"].splitlines()
    shown = [(await client.get(f"/v1/posts/{post.id}", headers=headers)).json() for post in (draft, published)]
    assert [json.loads(line) for line in lines] == shown


async def test_an_empty_export_still_reports_progress_then_completes(
    client: httpx.AsyncClient, author: StoredUser, settings: Settings
) -> None:
    received = await export(client, bearer(author.user, settings), "csv")
    assert [(event.name, event.data.get("done")) for event in received] == [("progress", 0), ("complete", None)]
    assert received[-1].data["row_count"] == 0
    assert received[-1].data["content"].splitlines() == [",".join(PostRead.model_fields)]


async def test_exporting_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    response = await client.get(EXPORT, params={"format": "csv"})
    assert_problem(response, 401, "authentication_failed")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("params", [{}, {"format": "xlsx"}, {"format": "csv", "since": "2020-01-01"}])
async def test_bad_export_parameters_are_422(
    client: httpx.AsyncClient, author: StoredUser, settings: Settings, params: dict[str, str]
) -> None:
    response = await client.get(EXPORT, params=params, headers=bearer(author.user, settings))
    assert_problem(response, 422, "validation_failed")


async def test_a_rendering_failure_ends_the_stream_with_an_error_event(
    app: FastAPI,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    author: StoredUser,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A row the renderer cannot serialize: its timestamp is not a datetime.
    post = PostRead.model_validate(await create_post(db_session, author.user)).model_dump()
    broken = PostRead.model_construct(**{**post, "created_at": "yesterday"})

    async def broken_posts() -> list[PostRead]:
        return [broken]

    app.dependency_overrides[posts_api.read_own_posts] = broken_posts
    with caplog.at_level(logging.INFO):
        received = await export(client, bearer(author.user, settings), "ndjson")

    assert [event.name for event in received] == ["progress", "error"]
    assert received[-1].data == {"code": "export_failed", "detail": "The export could not be rendered."}
    [failure] = [
        record
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg["event"] == "post export failed"
    ]
    assert failure.levelno == logging.ERROR
    assert failure.exc_info is not None
    assert "astimezone" in str(failure.exc_info[1])


async def test_the_stream_holds_no_database_connection(
    served_app: str, db_session: AsyncSession, author: StoredUser, settings: Settings, resources: Resources
) -> None:
    await create_post(db_session, author.user)
    params, headers = {"format": "csv"}, bearer(author.user, settings)
    received = []
    async with (
        httpx.AsyncClient(base_url=served_app) as client,
        client.stream("GET", EXPORT, params=params, headers=headers) as response,
    ):
        async for event in read_events(response.aiter_lines()):
            # The request's session committed and gave its connection back before the first byte was sent.
            assert resources.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            received.append(event.name)
    assert received == ["progress", "progress", "complete"]


async def test_a_client_that_leaves_stops_the_thread_before_the_request_ends(
    app: FastAPI,
    served_app: str,
    db_session: AsyncSession,
    author: StoredUser,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    total, held_at = 100, 50
    await _many_posts(db_session, author, total)
    held: list[HeldPosts] = []

    async def held_posts(user: CurrentUser, session: DbSession) -> Sequence[PostRead]:
        held.append(HeldPosts(await posts_api.read_own_posts(user, session), held_at))
        return held[-1]

    app.dependency_overrides[posts_api.read_own_posts] = held_posts
    params, headers = {"format": "csv"}, bearer(author.user, settings)
    caplog.set_level(logging.INFO)

    async with (
        httpx.AsyncClient(base_url=served_app) as client,
        client.stream("GET", EXPORT, params=params, headers=headers) as response,
    ):
        async for event in read_events(response.aiter_lines()):
            if event.name == "progress" and event.data["done"] > 0:
                break  # leaving the block closes the connection mid-stream

    # The server notices while the thread is held mid-export, and asks it to stop.
    await eventually(lambda: bool(events(caplog, "post export abandoned")))
    held[0].release.set()
    await eventually(lambda: any(line["path"] == EXPORT for line in events(caplog, "request")))

    [rendered] = events(caplog, "post export rendered")
    assert (rendered["rows"], rendered["total"], rendered["stopped"]) == (held_at, total, True)
    # The thread had returned, and been awaited, before the request's access line was written.
    logged = [record.msg["event"] for record in caplog.records if isinstance(record.msg, dict)]
    assert logged.index("post export rendered") < logged.index("request")
