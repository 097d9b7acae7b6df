"""Personal access tokens: made once, shown once, accepted as Bearer everywhere, never wider than the owner."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from app.core.tokens import digest
from app.models.personal_access_token import PersonalAccessToken
from app.resources import Resources
from app.services import personal_access_tokens as personal_access_tokens_service
from tests.support.factories import StoredUser, bearer, create_post, create_user
from tests.support.logs import events
from tests.support.outages import closed_port
from tests.support.problems import assert_problem

READ_FIELDS = {"id", "name", "scopes", "expires_at", "last_used_at", "created_at"}


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


@pytest.fixture
async def admin(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)


async def make_token(
    client: httpx.AsyncClient, owner: StoredUser, settings: Settings, scopes: list[str] | None = None, days: int = 30
) -> dict[str, Any]:
    body = {"name": "CI", "scopes": ["posts:write"] if scopes is None else scopes, "expires_in_days": days}
    response = await client.post("/v1/users/me/tokens", json=body, headers=bearer(owner.user, settings))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def as_bearer(created: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {created['token']}"}


async def stored(db_session: AsyncSession, token_id: str) -> PersonalAccessToken:
    row = await db_session.get(PersonalAccessToken, uuid.UUID(token_id), populate_existing=True)
    assert row is not None
    return row


async def test_a_token_is_shown_once_with_a_recognisable_prefix(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    created = await make_token(client, member, settings, days=7)
    assert set(created) == {*READ_FIELDS, "token"}
    assert created["token"].startswith(f"{settings.app.name}_pat_")
    assert len(created["token"]) >= len(f"{settings.app.name}_pat_") + 43
    assert created["scopes"] == ["posts:write"]
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=6, hours=23) < expires_at - datetime.now(UTC) <= timedelta(days=7)
    # Stored as a digest only.
    row = await stored(db_session, created["id"])
    assert row.token_hash == digest(created["token"])
    assert created["token"] not in row.token_hash

    listed = await client.get("/v1/users/me/tokens", headers=bearer(member.user, settings))
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert set(item) == READ_FIELDS
    assert item["last_used_at"] is None
    assert created["token"] not in listed.text


async def test_a_token_is_accepted_as_bearer_on_reads_and_writes(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    created = await make_token(client, member, settings)
    me = await client.get("/v1/users/me", headers=as_bearer(created))
    assert me.status_code == 200
    assert me.json()["id"] == str(member.user.id)
    post = await client.post("/v1/posts", json={"title": "From CI", "body": "Hello."}, headers=as_bearer(created))
    assert post.status_code == 201, post.text
    # Routes open to everyone see the owner behind the token too: a draft is theirs to read.
    draft = await client.get(f"/v1/posts/{post.json()['id']}", headers=as_bearer(created))
    assert draft.status_code == 200


async def test_a_token_holds_only_its_scopes(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    created = await make_token(client, member, settings, scopes=[])
    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200
    response = await client.post("/v1/posts", json={"title": "No", "body": "No."}, headers=as_bearer(created))
    assert_problem(response, 403, "permission_denied")


async def test_a_token_cannot_be_wider_than_its_owner(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    body = {"name": "too wide", "scopes": ["posts:write", "users:write", "users:read"], "expires_in_days": 30}
    response = await client.post("/v1/users/me/tokens", json=body, headers=bearer(member.user, settings))
    problem = assert_problem(response, 422, "validation_failed")
    [error] = problem["detail"]
    assert error["loc"] == ["body", "scopes"]
    assert error["type"] == "scope_not_held"
    assert error["msg"] == "Not held by the caller: users:read users:write."


async def test_nor_wider_than_the_session_that_makes_it(
    client: httpx.AsyncClient, admin: StoredUser, settings: Settings
) -> None:
    """A session narrowed with `scope` at sign-in cannot mint a token with the scopes it left out."""
    body = {"name": "admin bot", "scopes": ["users:write"], "expires_in_days": 30}
    narrowed = bearer(admin.user, settings, scopes=["users:read"])
    response = await client.post("/v1/users/me/tokens", json=body, headers=narrowed)
    assert_problem(response, 422, "validation_failed")


async def test_its_scopes_shrink_with_the_owners(
    client: httpx.AsyncClient, member: StoredUser, admin: StoredUser, settings: Settings
) -> None:
    created = await make_token(client, member, settings)
    taken = await client.patch(f"/v1/users/{member.user.id}", json={"scopes": []}, headers=bearer(admin.user, settings))
    assert taken.status_code == 200
    response = await client.post("/v1/posts", json={"title": "No", "body": "No."}, headers=as_bearer(created))
    assert_problem(response, 403, "permission_denied")


async def test_a_deactivated_owner_disables_every_token(
    client: httpx.AsyncClient, member: StoredUser, admin: StoredUser, settings: Settings
) -> None:
    tokens = [await make_token(client, member, settings) for _ in range(2)]
    await client.patch(f"/v1/users/{member.user.id}", json={"is_active": False}, headers=bearer(admin.user, settings))
    for created in tokens:
        assert_problem(await client.get("/v1/users/me", headers=as_bearer(created)), 401, "authentication_failed")


async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    created = await make_token(client, member, settings)
    await db_session.execute(update(PersonalAccessToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    await db_session.commit()
    assert_problem(await client.get("/v1/users/me", headers=as_bearer(created)), 401, "authentication_failed")


@pytest.mark.parametrize("suffix", ["", "x" * 43, "not.a.token"])
async def test_an_unknown_token_is_refused(client: httpx.AsyncClient, settings: Settings, suffix: str) -> None:
    headers = {"Authorization": f"Bearer {settings.app.name}_pat_{suffix}"}
    response = await client.get("/v1/users/me", headers=headers)
    assert_problem(response, 401, "authentication_failed")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_deleted_token_stops_working(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    created = await make_token(client, member, settings)
    response = await client.delete(f"/v1/users/me/tokens/{created['id']}", headers=bearer(member.user, settings))
    assert response.status_code == 204
    assert_problem(await client.get("/v1/users/me", headers=as_bearer(created)), 401, "authentication_failed")
    assert (await client.get("/v1/users/me/tokens", headers=bearer(member.user, settings))).json()["items"] == []


async def test_another_users_token_is_not_found(
    client: httpx.AsyncClient, member: StoredUser, admin: StoredUser, settings: Settings
) -> None:
    created = await make_token(client, member, settings)
    response = await client.delete(f"/v1/users/me/tokens/{created['id']}", headers=bearer(admin.user, settings))
    problem = assert_problem(response, 404, "not_found")
    assert problem["detail"] == "No personal access token with this id."
    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200
    assert (await client.get("/v1/users/me/tokens", headers=bearer(admin.user, settings))).json()["items"] == []


async def test_a_token_cannot_make_or_delete_tokens(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    created = await make_token(client, member, settings)
    body = {"name": "successor", "scopes": [], "expires_in_days": 366}
    assert_problem(
        await client.post("/v1/users/me/tokens", json=body, headers=as_bearer(created)), 403, "permission_denied"
    )
    response = await client.delete(f"/v1/users/me/tokens/{created['id']}", headers=as_bearer(created))
    assert_problem(response, 403, "permission_denied")
    # Listing is harmless: it shows no secrets.
    assert (await client.get("/v1/users/me/tokens", headers=as_bearer(created))).status_code == 200


async def test_a_password_change_keeps_tokens(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    created = await make_token(client, member, settings)
    change = {"password": "a-fresh-passphrase-99", "current_password": member.password}
    assert (await client.patch("/v1/users/me", json=change, headers=bearer(member.user, settings))).status_code == 200
    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200


async def test_last_use_is_stamped_outside_the_read_and_at_most_once_a_minute(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession, redis: Redis
) -> None:
    created = await make_token(client, member, settings)
    # A GET runs on a session that refuses writes: the stamp must come from elsewhere.
    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200
    first = (await stored(db_session, created["id"])).last_used_at
    assert first is not None
    assert datetime.now(UTC) - first < timedelta(seconds=30)
    # Later uses this minute are turned away by Redis before the database is asked.
    assert 0 < await redis.ttl(f"throttle:pat-used:{created['id']}") <= 60

    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200
    assert (await stored(db_session, created["id"])).last_used_at == first

    # Without the Redis throttle, the UPDATE's own condition still holds the line.
    await redis.flushdb()
    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200
    assert (await stored(db_session, created["id"])).last_used_at == first

    listed = await client.get("/v1/users/me/tokens", headers=bearer(member.user, settings))
    assert listed.json()["items"][0]["last_used_at"] is not None


async def test_a_use_stamps_its_own_token_only(
    client: httpx.AsyncClient, member: StoredUser, admin: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    used = await make_token(client, member, settings)
    mine_unused = await make_token(client, member, settings)
    theirs = await make_token(client, admin, settings, scopes=[])
    assert (await client.get("/v1/users/me", headers=as_bearer(used))).status_code == 200
    assert (await stored(db_session, used["id"])).last_used_at is not None
    assert (await stored(db_session, mine_unused["id"])).last_used_at is None
    assert (await stored(db_session, theirs["id"])).last_used_at is None


async def test_deleting_one_token_keeps_the_others(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    # The token made last is deleted: a lookup that ignored the id would find the first one.
    kept, doomed = await make_token(client, member, settings), await make_token(client, member, settings)
    response = await client.delete(f"/v1/users/me/tokens/{doomed['id']}", headers=bearer(member.user, settings))
    assert response.status_code == 204
    assert_problem(await client.get("/v1/users/me", headers=as_bearer(doomed)), 401, "authentication_failed")
    assert (await client.get("/v1/users/me", headers=as_bearer(kept))).status_code == 200


async def test_last_use_is_stamped_when_redis_is_down_and_lost_quietly_when_postgres_is(
    member: StoredUser,
    settings: Settings,
    resources: Resources,
    db_session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = PersonalAccessToken(
        user_id=member.user.id, name="t", token_hash=digest("x"), scopes=[], expires_at=datetime.now(UTC) + timedelta(1)
    )
    db_session.add(row)
    await db_session.commit()
    redis_down = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1)
    engine_down = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/none")
    try:
        with caplog.at_level(logging.WARNING):
            # Redis down: the throttle is skipped, the database's own condition still applies.
            await personal_access_tokens_service.record_use(resources.session_factory, redis_down, row.id)
            assert (await stored(db_session, str(row.id))).last_used_at is not None
            # PostgreSQL down too: the stamp is lost, with a warning, and nothing is raised.
            await personal_access_tokens_service.record_use(async_sessionmaker(engine_down), redis_down, row.id)
    finally:
        await redis_down.aclose()
        await engine_down.dispose()
    throttled = events(caplog, "throttle unavailable; stamping last use anyway")
    assert len(throttled) == 2
    assert all("Connection" in event["error"] for event in throttled)
    [lost] = events(caplog, "could not record a personal access token's use")
    assert lost["token_id"] == str(row.id)
    assert "Connect" in lost["error"] or "connect" in lost["error"]


async def test_a_stamp_over_a_minute_old_is_renewed(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession, redis: Redis
) -> None:
    created = await make_token(client, member, settings)
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    await db_session.execute(update(PersonalAccessToken).values(last_used_at=long_ago))
    await db_session.commit()
    await redis.flushdb()
    assert (await client.get("/v1/users/me", headers=as_bearer(created))).status_code == 200
    renewed = (await stored(db_session, created["id"])).last_used_at
    assert renewed is not None
    assert renewed > long_ago + timedelta(minutes=4)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "scopes": [], "expires_in_days": 30},
        {"name": "x", "scopes": ["root"], "expires_in_days": 30},
        {"name": "x", "scopes": [], "expires_in_days": 0},
        {"name": "x", "scopes": [], "expires_in_days": 367},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": [], "expires_in_days": 30, "user_id": str(uuid.uuid4())},
    ],
)
async def test_invalid_requests_are_422(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession, body: dict[str, object]
) -> None:
    response = await client.post("/v1/users/me/tokens", json=body, headers=bearer(member.user, settings))
    assert_problem(response, 422, "validation_failed")
    assert list(await db_session.scalars(select(PersonalAccessToken))) == []


async def test_the_list_is_a_keyset_page(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    made = [await make_token(client, member, settings) for _ in range(3)]
    headers = bearer(member.user, settings)
    first = (await client.get("/v1/users/me/tokens", params={"limit": 2}, headers=headers)).json()
    assert [item["id"] for item in first["items"]] == [made[2]["id"], made[1]["id"]]
    second = (
        await client.get("/v1/users/me/tokens", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers)
    ).json()
    assert [item["id"] for item in second["items"]] == [made[0]["id"]]
    assert second["next_cursor"] is None


async def test_tokens_need_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/users/me/tokens"), 401, "authentication_failed")
    body = {"name": "x", "scopes": [], "expires_in_days": 1}
    assert_problem(await client.post("/v1/users/me/tokens", json=body), 401, "authentication_failed")


async def test_posts_made_with_a_token_belong_to_its_owner(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    await create_post(db_session, member.user)
    created = await make_token(client, member, settings)
    response = await client.post("/v1/posts", json={"title": "t", "body": "b"}, headers=as_bearer(created))
    assert response.json()["author_id"] == str(member.user.id)
