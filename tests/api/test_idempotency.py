"""`Idempotency-Key` on POST /v1/posts, /v1/webhooks and /v1/auth/signup
(draft-ietf-httpapi-idempotency-key-header; SPEC §6): replay, reuse, in flight, scope, expiry, restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.idempotency import Idempotent
from app.core.config import IdempotencySettings, RateLimitSettings, Settings
from app.main import create_app
from app.models.idempotency_key import IdempotencyKey
from app.models.outbox import JobOutbox
from app.models.post import Post
from app.models.user import User
from app.models.webhook import Webhook
from app.resources import Resources
from tests.conftest import BASE_URL
from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.factories import PostCreateFactory, StoredUser, UserCreateFactory, bearer, create_user
from tests.support.outages import closed_port
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem
from tests.support.races import holding, race, send

DUPLICATES = 20
STARTUP_LIMIT_SECONDS = 60
HOOK = {"url": "https://hooks.example.com/receive", "events": ["post.published"]}


@pytest.fixture
async def author(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


@pytest.fixture
def unlimited_signups(app: FastAPI, settings: Settings) -> None:
    """Sign-up's per-address rate limit would answer 429 long before 20 duplicates."""
    override_settings(app, settings, rate_limit=RateLimitSettings(_env_file=None, enabled=False))


def _published_post() -> dict[str, Any]:
    return PostCreateFactory.build(status="published").model_dump(mode="json")


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _count(db_session: AsyncSession, model: type[Any], *where: Any) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _assert_replay_of(replay: httpx.Response, first: httpx.Response) -> None:
    assert replay.status_code == first.status_code, replay.text
    assert replay.content == first.content
    for header in ("content-type", "location", "etag"):
        assert replay.headers.get(header) == first.headers.get(header), header
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert replay.headers["x-request-id"] != first.headers["x-request-id"]  # a new request, an old answer


# --- replay ----------------------------------------------------------------------------------


async def test_a_repeated_post_replays_the_first_response_and_publishes_once(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    headers = {**bearer(author.user, settings), **_key()}
    body = _published_post()
    first = await client.post("/v1/posts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    # The same JSON, written differently: other key order and spacing. It is the same request.
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    replay = await client.post("/v1/posts", content=reordered, headers={**headers, "Content-Type": "application/json"})
    _assert_replay_of(replay, first)
    assert await _count(db_session, Post) == 1
    assert await _count(db_session, JobOutbox, JobOutbox.job_name == "dispatch_event") == 1


async def test_a_repeated_webhook_registration_replays_the_same_secret(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    headers = {**bearer(author.user, settings), **_key()}
    first = await client.post("/v1/webhooks", json=HOOK, headers=headers)
    assert first.status_code == 201, first.text
    replay = await client.post("/v1/webhooks", json=HOOK, headers=headers)
    _assert_replay_of(replay, first)
    assert replay.json()["secret"] == first.json()["secret"]
    assert await _count(db_session, Webhook) == 1


async def test_a_repeated_signup_replays_and_sends_one_welcome_email(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    body, headers = UserCreateFactory.build().model_dump(), _key()
    first = await client.post("/v1/auth/signup", json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = await client.post("/v1/auth/signup", json=body, headers=headers)
    _assert_replay_of(replay, first)  # not the 409 email_taken a plain repeat gets
    assert await _count(db_session, User) == 1
    assert await _count(db_session, JobOutbox, JobOutbox.job_name == "send_welcome_email") == 1


async def test_the_key_is_stored_in_the_same_transaction_as_the_effect(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    response = await client.post(
        "/v1/posts", json=_published_post(), headers={**bearer(author.user, settings), **_key()}
    )
    assert response.status_code == 201
    # xmin is the id of the transaction that wrote the row: one commit wrote all three.
    writers = await db_session.scalars(
        text(
            "SELECT xmin::text FROM post UNION SELECT xmin::text FROM job_outbox "
            "UNION SELECT xmin::text FROM idempotency_key"
        )
    )
    assert len(list(writers)) == 1


async def test_without_a_key_nothing_is_replayed(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    body = PostCreateFactory.build().model_dump(mode="json")
    for _ in range(2):
        assert (await client.post("/v1/posts", json=body, headers=bearer(author.user, settings))).status_code == 201
    assert await _count(db_session, Post) == 2
    assert await _count(db_session, IdempotencyKey) == 0


async def test_a_failed_first_request_leaves_the_key_unused(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    headers = {**bearer(author.user, settings), **_key()}
    refused = await client.post("/v1/posts", json={"title": "No body"}, headers=headers)
    assert_problem(refused, 422, "validation_failed")
    not_json = await client.post(
        "/v1/posts", content=b'{"title": "Broken', headers={**headers, "Content-Type": "application/json"}
    )
    assert_problem(not_json, 422, "validation_failed")
    accepted = await client.post("/v1/posts", json=PostCreateFactory.build().model_dump(mode="json"), headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert "idempotent-replayed" not in accepted.headers
    assert await _count(db_session, Post) == 1


# --- reuse, scope, syntax ---------------------------------------------------------------------


async def test_the_same_key_with_another_request_is_422(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    headers = {**bearer(author.user, settings), **_key()}
    body = PostCreateFactory.build().model_dump(mode="json")
    assert (await client.post("/v1/posts", json=body, headers=headers)).status_code == 201
    for method, url, other in (
        ("POST", "/v1/posts", {**body, "title": "Another title"}),
        ("POST", "/v1/webhooks", HOOK),  # the same key on another operation
    ):
        response = await client.request(method, url, json=other, headers=headers)
        problem = assert_problem(response, 422, "idempotency_key_reused")
        assert problem["title"] == "Idempotency key reused"
        assert problem["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert await _count(db_session, Post) == 1
    assert await _count(db_session, Webhook) == 0


async def test_keys_belong_to_the_caller_who_chose_them(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    other = await create_user(db_session, settings)
    key, body = _key(), PostCreateFactory.build().model_dump(mode="json")
    mine = await client.post("/v1/posts", json=body, headers={**bearer(author.user, settings), **key})
    theirs = await client.post("/v1/posts", json=body, headers={**bearer(other.user, settings), **key})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.json()["author_id"] == str(other.user.id)
    assert "idempotent-replayed" not in theirs.headers

    # Anonymous sign-ups: the scope is the client address.
    responses = []
    for address in ("192.0.2.1", "192.0.2.2"):
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as from_address:
            body = UserCreateFactory.build().model_dump()
            responses.append(await from_address.post("/v1/auth/signup", json=body, headers=key))
    assert [response.status_code for response in responses] == [201, 201]
    assert await _count(db_session, User, User.email.in_([r.json()["email"] for r in responses])) == 2


@pytest.mark.parametrize(
    "value",
    ["", "   ", "x" * 256, "caf\u00e9", "two words", "tab\there", '"unterminated', '"bad \\escape"', '""'],
)
async def test_a_malformed_key_is_422_naming_the_header(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings, value: str
) -> None:
    headers = [(name.encode(), given.encode()) for name, given in bearer(author.user, settings).items()]
    headers.append((b"Idempotency-Key", value.encode("latin-1")))
    response = await client.post("/v1/posts", json=PostCreateFactory.build().model_dump(mode="json"), headers=headers)
    problem = assert_problem(response, 422, "validation_failed")
    [error] = problem["detail"]
    assert (error["loc"], error["type"]) == (["header", "idempotency-key"], "idempotency_key_invalid")
    assert await _count(db_session, Post) == 0


async def test_a_structured_field_string_is_the_same_key_as_its_bare_form(
    client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    body, headers = PostCreateFactory.build().model_dump(mode="json"), bearer(author.user, settings)
    longest = "k" * 255
    first = await client.post("/v1/posts", json=body, headers={**headers, "Idempotency-Key": f'"{longest}"'})
    replay = await client.post("/v1/posts", json=body, headers={**headers, "Idempotency-Key": longest})
    _assert_replay_of(replay, first)
    assert await _count(db_session, Post) == 1


# --- concurrency ------------------------------------------------------------------------------


async def test_twenty_concurrent_duplicates_have_one_effect(
    app: FastAPI, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    request = {
        "method": "POST",
        "url": "/v1/posts",
        "json": _published_post(),
        "headers": {**bearer(author.user, settings), **_key()},
    }
    responses = await race(app, [request] * DUPLICATES)

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [response for response in responses if response.status_code == 201]
    assert len({response.content for response in created}) == 1  # the first response, and replays of it
    assert len([response for response in created if "idempotent-replayed" not in response.headers]) == 1
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "idempotency_key_in_flight")
            assert response.headers["retry-after"] == "1"
    assert await _count(db_session, Post) == 1
    assert await _count(db_session, JobOutbox, JobOutbox.job_name == "dispatch_event") == 1


async def test_a_repeat_while_the_first_is_in_flight_is_409(
    app: FastAPI, resources: Resources, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    request = {
        "method": "POST",
        "url": "/v1/posts",
        "json": PostCreateFactory.build().model_dump(mode="json"),
        "headers": {**bearer(author.user, settings), **_key()},
    }
    # The table lock stops the first request at its INSERT, holding its key, while the others arrive.
    async with holding(resources, text("LOCK TABLE post IN EXCLUSIVE MODE")) as until_blocked:
        tasks = [asyncio.create_task(send(app, request)) for _ in range(DUPLICATES)]
        await until_blocked(1)
        async with asyncio.timeout(10):  # every repeat answers while the first one is stuck
            while sum(task.done() for task in tasks) < DUPLICATES - 1:  # noqa: ASYNC110 - polling tasks
                await asyncio.sleep(0.01)
        repeats = [task.result() for task in tasks if task.done()]
        [pending] = [task for task in tasks if not task.done()]
    first = await pending  # released with the table: it finishes now

    for response in repeats:
        assert_problem(response, 409, "idempotency_key_in_flight")
        assert response.headers["retry-after"] == "1"
    assert first.status_code == 201, first.text
    _assert_replay_of(await send(app, request), first)  # finished: now the key replays
    assert await _count(db_session, Post) == 1


# --- lifetime ---------------------------------------------------------------------------------


async def test_a_key_replays_after_the_api_restarts(
    settings: Settings, db_session: AsyncSession, author: StoredUser
) -> None:
    request = {
        "method": "POST",
        "url": "/v1/posts",
        "json": _published_post(),
        "headers": {**bearer(author.user, settings), **_key()},
    }
    before = create_app(settings)
    async with before.router.lifespan_context(before):
        first = await send(before, request)
    assert first.status_code == 201, first.text

    after = create_app(settings)  # a new process: new engine, new pool, nothing in memory
    async with after.router.lifespan_context(after):
        replay = await send(after, request)
    _assert_replay_of(replay, first)
    assert await _count(db_session, Post) == 1


async def test_keys_expire_after_the_configured_time(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, author: StoredUser, settings: Settings
) -> None:
    override_settings(app, settings, idempotency=IdempotencySettings(_env_file=None, ttl_seconds=3600))
    headers = {**bearer(author.user, settings), **_key()}
    body = PostCreateFactory.build().model_dump(mode="json")
    assert (await client.post("/v1/posts", json=body, headers=headers)).status_code == 201
    [row] = await db_session.scalars(select(IdempotencyKey))
    assert abs(row.expires_at - row.created_at - timedelta(hours=1)) < timedelta(seconds=5)

    await db_session.execute(text("UPDATE idempotency_key SET expires_at = now() - interval '1 second'"))
    await db_session.commit()
    again = await client.post("/v1/posts", json=body, headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers  # a new request: the old key was forgotten
    assert await _count(db_session, Post) == 2
    assert await _count(db_session, IdempotencyKey) == 1


@asynccontextmanager
async def api_process(log_path: Path) -> AsyncIterator[str]:
    """The API as the README serves it (`uvicorn app.main:app`), on a free port; SIGKILLed at the end."""
    port = closed_port()
    environment = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis_url_for_tests(),
    }
    uvicorn = Path(sys.executable).with_name("uvicorn")
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(uvicorn),
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=environment,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as probe, asyncio.timeout(STARTUP_LIMIT_SECONDS):
            while process.returncode is None:
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get("/health/live")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        assert process.returncode is None, f"the API exited with {process.returncode}; see {log_path}"
        yield base_url
    finally:
        if process.returncode is None:
            process.kill()  # a crash, not a shutdown: nothing gets a chance to flush or clean up
        await process.wait()


async def test_a_key_replays_after_the_api_process_is_killed(
    db_session: AsyncSession, author: StoredUser, settings: Settings, tmp_path: Path
) -> None:
    headers = {**bearer(author.user, settings), **_key()}
    body = _published_post()
    async with api_process(tmp_path / "first.log") as base_url, httpx.AsyncClient(base_url=base_url) as client:
        first = await client.post("/v1/posts", json=body, headers=headers)
    assert first.status_code == 201, first.text

    async with api_process(tmp_path / "second.log") as base_url, httpx.AsyncClient(base_url=base_url) as client:
        replay = await client.post("/v1/posts", json=body, headers=headers)
    _assert_replay_of(replay, first)
    assert await _count(db_session, Post) == 1
    assert await _count(db_session, JobOutbox, JobOutbox.job_name == "dispatch_event") == 1


async def test_a_route_that_cannot_store_its_response_fails_loudly(settings: Settings, author: StoredUser) -> None:
    """`Idempotent` on a router without `route_class=Route` would never store anything: it refuses instead."""
    router = APIRouter()

    @router.post("/orders", dependencies=[Idempotent])
    async def create_order() -> dict[str, str]:
        return {"created": "yes"}

    application = create_app(settings)
    application.include_router(router)
    async with application.router.lifespan_context(application):
        response = await send(
            application,
            {"method": "POST", "url": "/orders", "headers": {**bearer(author.user, settings), **_key()}},
        )
    assert_problem(response, 500, "internal_error")
