"""/v1/users for administrators: scopes, keyset pages, lookups, changes (SPEC §3 Users; DEP-4, DEP-5, SCH-4, SCH-8)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.problems import assert_problem


@pytest.fixture
async def admin(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, scopes=SUPERUSER_SCOPES, name="Admin")


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, name="Member")


async def test_listing_needs_users_read(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    response = await client.get("/v1/users", headers=bearer(member.user, settings))
    problem = assert_problem(response, 403, "permission_denied")
    assert "users:read" in problem["detail"]
    assert_problem(await client.get("/v1/users"), 401, "authentication_failed")


async def test_keyset_pages_walk_every_user_once_in_order(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, admin: StoredUser
) -> None:
    for _ in range(24):
        await create_user(db_session, settings)
    headers = bearer(admin.user, settings)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/users", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["limit"] == 10
        seen += [user["id"] for user in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 25
    assert seen[0] == str(admin.user.id)  # oldest first


async def test_q_filters_on_email_and_name(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, admin: StoredUser
) -> None:
    await create_user(db_session, settings, name="Grace Hopper")
    await create_user(db_session, settings, email="hopper@navy.example")
    await create_user(db_session, settings, name="Someone Else")
    response = await client.get("/v1/users", params={"q": "HOPPER"}, headers=bearer(admin.user, settings))
    assert sorted(user["name"] != "Grace Hopper" for user in response.json()["items"]) == [False, True]


async def test_q_treats_wildcards_literally(client: httpx.AsyncClient, admin: StoredUser, settings: Settings) -> None:
    response = await client.get("/v1/users", params={"q": "%"}, headers=bearer(admin.user, settings))
    assert response.json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W10"},
        {"cursor": "WyJub3QtYS1kYXRlIiwiMDAiXQ"},
        {"sort": "email"},
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, admin: StoredUser, settings: Settings, params: dict[str, str | int]
) -> None:
    response = await client.get("/v1/users", params=params, headers=bearer(admin.user, settings))
    assert_problem(response, 422, "validation_failed")


async def test_read_a_user(
    client: httpx.AsyncClient, admin: StoredUser, member: StoredUser, settings: Settings
) -> None:
    response = await client.get(f"/v1/users/{member.user.id}", headers=bearer(admin.user, settings))
    assert response.status_code == 200
    assert response.json()["email"] == member.email


async def test_unknown_and_malformed_ids(client: httpx.AsyncClient, admin: StoredUser, settings: Settings) -> None:
    headers = bearer(admin.user, settings)
    assert_problem(
        await client.get("/v1/users/00000000-0000-0000-0000-000000000000", headers=headers), 404, "not_found"
    )
    assert_problem(await client.get("/v1/users/not-a-uuid", headers=headers), 422, "validation_failed")


async def test_changing_users_needs_users_write(
    client: httpx.AsyncClient, admin: StoredUser, member: StoredUser, settings: Settings
) -> None:
    reader = bearer(admin.user, settings, scopes=["users:read"])
    response = await client.patch(f"/v1/users/{member.user.id}", json={"name": "x"}, headers=reader)
    assert "users:write" in assert_problem(response, 403, "permission_denied")["detail"]


async def test_grant_scopes_and_deactivate(
    client: httpx.AsyncClient, admin: StoredUser, member: StoredUser, settings: Settings
) -> None:
    headers = bearer(admin.user, settings)
    member_headers = bearer(member.user, settings)
    url = f"/v1/users/{member.user.id}"
    response = await client.patch(url, json={"scopes": ["users:read", "posts:write", "users:read"]}, headers=headers)
    assert response.json()["scopes"] == ["posts:write", "users:read"]

    response = await client.patch(url, json={"is_active": False}, headers=headers)
    assert response.json()["is_active"] is False
    assert_problem(await client.get("/v1/users/me", headers=member_headers), 401, "authentication_failed")


async def test_removed_scopes_stop_working_before_the_token_expires(
    client: httpx.AsyncClient, admin: StoredUser, member: StoredUser, settings: Settings
) -> None:
    url = f"/v1/users/{member.user.id}"
    await client.patch(url, json={"scopes": ["users:read"]}, headers=bearer(admin.user, settings))
    member_token = bearer(member.user, settings, scopes=["users:read"])
    assert (await client.get("/v1/users", headers=member_token)).status_code == 200
    await client.patch(url, json={"scopes": []}, headers=bearer(admin.user, settings))
    assert_problem(await client.get("/v1/users", headers=member_token), 403, "permission_denied")


@pytest.mark.parametrize("change", [{"scopes": ["root"]}, {"is_active": "no"}, {"email": "x@example.com"}])
async def test_invalid_admin_changes_are_422(
    client: httpx.AsyncClient, admin: StoredUser, member: StoredUser, settings: Settings, change: dict[str, object]
) -> None:
    response = await client.patch(f"/v1/users/{member.user.id}", json=change, headers=bearer(admin.user, settings))
    assert_problem(response, 422, "validation_failed")
