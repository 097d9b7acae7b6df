"""GET /v1/posts/export: progress from a worker thread, streamed as Server-Sent Events (SPEC §3 Streaming; ASY-7)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import socket
import threading
import tracemalloc
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import DbSession, ResourcesDep, SettingsDep
from app.api.security import CurrentUser
from app.api.v1 import posts as posts_api
from app.core.config import ExportSettings, Settings
from app.models.post import Post
from app.resources import Resources
from app.schemas.page import KeysetCursor
from app.schemas.posts import PostRead
from app.services.post_exports import ExportSource
from tests.support.factories import PostCreateFactory, StoredUser, bearer, create_post, create_user
from tests.support.logs import events
from tests.support.overrides import override_settings
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


def file_of(received: list[Event]) -> str:
    """The exported file: the content of the `rows` events, in order."""
    return "".join(event.data["content"] for event in received if event.name == "rows")


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
        self.reached = threading.Event()
        self.release = threading.Event()

    def __len__(self) -> int:
        return len(self.posts)

    def __getitem__(self, index):  # Sequence's overloads (int, slice) are more than this test needs
        if index == self.held_at:
            self.reached.set()
            self.release.wait(timeout=10)
        return self.posts[index]


def source_of(batches: list[Sequence[PostRead]]) -> ExportSource:
    """An export source that hands out `batches` one by one, then an empty one."""
    remaining = list(batches)

    async def read_batch(after: KeysetCursor | None) -> Sequence[PostRead]:
        return remaining.pop(0) if remaining else []

    return ExportSource(total=sum(len(batch) for batch in batches), read_batch=read_batch)


async def _many_long_posts(db_session: AsyncSession, author: StoredUser, count: int, size: int) -> None:
    """`count` drafts by `author` with bodies of `size` characters, in one commit."""
    db_session.add_all(
        Post(author_id=author.user.id, title=f"Long {number}", body="w" * size, status="draft")
        for number in range(count)
    )
    await db_session.commit()


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

    assert [event.name for event in received] == ["progress", "rows", "progress", "progress", "rows", "complete"]
    progress = [event.data for event in received if event.name == "progress"]
    assert progress == [{"done": done, "total": 2} for done in (0, 1, 2)]
    complete = received[-1].data
    assert complete == {"format": "csv", "row_count": 2}
    rows = list(csv.DictReader(io.StringIO(file_of(received))))
    expected = [PostRead.model_validate(post).model_dump(mode="json") for post in mine]
    assert rows == [{key: "" if value is None else value for key, value in post.items()} for post in expected]


async def test_a_long_export_arrives_in_order_one_batch_at_a_time(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    override_settings(app, settings, exports=ExportSettings(_env_file=None, batch_size=7))
    await _many_posts(db_session, author, 30)

    received = await export(client, bearer(author.user, settings), "ndjson")

    assert [event.data["content"].count("\n") for event in received if event.name == "rows"] == [7, 7, 7, 7, 2]
    lines = [json.loads(line) for line in file_of(received).splitlines()]
    assert len({line["id"] for line in lines}) == 30
    assert [(line["created_at"], line["id"]) for line in lines] == sorted(
        (line["created_at"], line["id"]) for line in lines
    )
    assert received[-1].data == {"format": "ndjson", "row_count": 30}


async def test_ndjson_lines_are_the_posts_as_the_api_shows_them(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    draft = await create_post(db_session, author.user)
    published = await create_post(db_session, author.user, status="published")
    headers = bearer(author.user, settings)

    received = await export(client, headers, "ndjson")

    assert received[-1] == Event("complete", {"format": "ndjson", "row_count": 2})
    lines = file_of(received).splitlines()
    shown = [(await client.get(f"/v1/posts/{post.id}", headers=headers)).json() for post in (draft, published)]
    assert [json.loads(line) for line in lines] == shown


async def test_an_empty_export_still_reports_progress_then_completes(
    client: httpx.AsyncClient, author: StoredUser, settings: Settings
) -> None:
    received = await export(client, bearer(author.user, settings), "csv")
    assert [event.name for event in received] == ["progress", "rows", "complete"]
    assert received[-1].data["row_count"] == 0
    assert file_of(received).splitlines() == [",".join(PostRead.model_fields)]


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

    async def broken_source() -> ExportSource:
        return source_of([[broken]])

    app.dependency_overrides[posts_api.read_export_source] = broken_source
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


async def test_a_database_failure_mid_export_ends_the_stream_with_an_error_event(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    first = [PostRead.model_validate(await create_post(db_session, author.user))]

    async def failing_source() -> ExportSource:
        async def read_batch(after: KeysetCursor | None) -> Sequence[PostRead]:
            if after is None:
                return first
            raise ConnectionRefusedError("PostgreSQL went away")  # what asyncpg raises when it cannot connect

        return ExportSource(total=2, read_batch=read_batch)

    app.dependency_overrides[posts_api.read_export_source] = failing_source
    received = await export(client, bearer(author.user, settings), "ndjson")

    assert [event.name for event in received] == ["progress", "progress", "rows", "error"]
    assert received[-1].data == {"code": "export_failed", "detail": "The export could not be completed."}


async def test_the_stream_holds_no_database_connection(
    app: FastAPI,
    served_app: str,
    db_session: AsyncSession,
    author: StoredUser,
    settings: Settings,
    resources: Resources,
) -> None:
    """Rows are read in batches, each in a session of its own: a client that stops reading holds no connection."""
    override_settings(app, settings, exports=ExportSettings(_env_file=None, batch_size=50))
    await _many_long_posts(db_session, author, count=2000, size=10_000)  # ~20 MB: more than the sockets buffer
    reads = 0

    async def counted_source(
        user: CurrentUser, session: DbSession, resources: ResourcesDep, settings: SettingsDep
    ) -> ExportSource:
        source = await posts_api.read_export_source(user, session, resources, settings)

        async def read_batch(after: KeysetCursor | None) -> Sequence[PostRead]:
            nonlocal reads
            reads += 1
            return await source.read_batch(after)

        return ExportSource(total=source.total, read_batch=read_batch)

    app.dependency_overrides[posts_api.read_export_source] = counted_source
    params, headers = {"format": "csv"}, bearer(author.user, settings)
    async with (
        httpx.AsyncClient(base_url=served_app) as client,
        client.stream("GET", EXPORT, params=params, headers=headers) as response,
    ):
        lines = response.aiter_lines()
        assert await anext(lines) == "event: progress"
        # The client stops reading; the server fills the socket buffers, then waits to send more.
        seen = -1
        for _ in range(100):
            if reads == seen:
                break
            seen = reads
            await asyncio.sleep(0.3)
        assert 0 < reads < 2000 // 50, f"{reads} batches read: the export did not wait for the client"
        for _ in range(10):
            assert resources.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        assert reads == seen  # still waiting: the samples were taken while the client was not reading
        received = [event async for event in read_events(lines)]
    assert received[-1] == Event("complete", {"format": "csv", "row_count": 2000})


async def test_memory_per_export_is_bounded_by_the_batch_not_the_export(
    app: FastAPI, served_app: str, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    override_settings(app, settings, exports=ExportSettings(_env_file=None, batch_size=50))
    await _many_long_posts(db_session, author, count=2000, size=10_000)  # ~20 MB of posts
    params, headers = {"format": "ndjson"}, bearer(author.user, settings)
    received = 0
    async with httpx.AsyncClient(base_url=served_app) as client:
        await client.get("/health/live")  # warm: the first request's one-off allocations are not the export's
        tracemalloc.start()
        try:
            async with client.stream("GET", EXPORT, params=params, headers=headers) as response:
                async for chunk in response.aiter_raw():
                    received += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received > 20_000_000
    # Server and client both run in this process: all they allocated at once stays a fraction of the
    # export (a 50-post batch is ~0.5 MB; holding the export whole took several times its 20 MB).
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB while exporting {received / 1e6:.1f} MB"


async def test_exports_per_user_run_a_limited_number_at_once(
    app: FastAPI,
    served_app: str,
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    author: StoredUser,
    settings: Settings,
) -> None:
    override_settings(app, settings, exports=ExportSettings(_env_file=None, max_concurrent_per_user=1))
    other = await create_user(db_session, settings)
    release = asyncio.Event()

    async def held_source(user: CurrentUser, session: DbSession, resources: ResourcesDep, settings: SettingsDep):
        source = await posts_api.read_export_source(user, session, resources, settings)

        async def read_batch(after: KeysetCursor | None) -> Sequence[PostRead]:
            await release.wait()  # the first export stays open until the test lets it finish
            return await source.read_batch(after)

        return ExportSource(total=source.total, read_batch=read_batch)

    app.dependency_overrides[posts_api.read_export_source] = held_source
    params, headers = {"format": "csv"}, bearer(author.user, settings)
    async with (
        httpx.AsyncClient(base_url=served_app) as first_client,
        first_client.stream("GET", EXPORT, params=params, headers=headers) as first,
    ):
        assert first.status_code == 200
        second = await client.get(EXPORT, params=params, headers=headers)
        problem = assert_problem(second, 429, "too_many_exports")
        assert second.headers["retry-after"] == "10"
        assert "(1)" in problem["detail"]
        # Another user's exports do not count against this one's.
        release.set()
        assert (await client.get(EXPORT, params=params, headers=bearer(other.user, settings))).status_code == 200
        assert [event.name async for event in read_events(first.aiter_lines())][-1] == "complete"

    # Finished, the slot is given back.
    for _ in range(100):
        response = await client.get(EXPORT, params=params, headers=headers)
        if response.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert response.status_code == 200


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

    async def held_source(
        user: CurrentUser, session: DbSession, resources: ResourcesDep, settings: SettingsDep
    ) -> ExportSource:
        source = await posts_api.read_export_source(user, session, resources, settings)
        held.append(HeldPosts(await source.read_batch(None), held_at))
        return source_of([held[-1]])

    app.dependency_overrides[posts_api.read_export_source] = held_source
    params, headers = {"format": "csv"}, bearer(author.user, settings)
    caplog.set_level(logging.INFO)

    async with (
        httpx.AsyncClient(base_url=served_app) as client,
        client.stream("GET", EXPORT, params=params, headers=headers) as response,
    ):
        async for event in read_events(response.aiter_lines()):
            if event.name == "progress" and event.data["done"] > 0:
                await eventually(held[0].reached.is_set)
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
