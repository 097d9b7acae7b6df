"""/v1/users/me: read, update, deactivate (SPEC §3 Users; SCH-2, DEP-5)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.problems import assert_problem


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


async def test_read_me(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    response = await client.get("/v1/users/me", headers=bearer(member.user, settings))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(member.user.id)
    assert body["email"] == member.email
    assert set(body) == {"id", "email", "name", "is_active", "email_verified", "scopes", "created_at", "updated_at"}
    assert body["email_verified"] is True


async def test_rename_myself(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    response = await client.patch("/v1/users/me", json={"name": "New Name"}, headers=bearer(member.user, settings))
    assert response.status_code == 200
    assert response.json()["name"] == "New Name"
    assert response.json()["updated_at"] >= response.json()["created_at"]


@pytest.mark.parametrize(
    "change",
    [
        {"scopes": ["users:write"]},
        {"is_active": False},
        {"role": "admin"},
        {"id": "00000000-0000-0000-0000-000000000001"},
        {"is_superuser": True},
    ],
)
async def test_self_service_cannot_touch_privileged_fields(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, change: dict[str, object]
) -> None:
    headers = bearer(member.user, settings)
    problem = assert_problem(await client.patch("/v1/users/me", json=change, headers=headers), 422, "validation_failed")
    assert [error["type"] for error in problem["detail"]] == ["extra_forbidden"]
    after = (await client.get("/v1/users/me", headers=headers)).json()
    assert after["scopes"] == ["posts:write"]
    assert after["is_active"] is True
    assert after["email"] == member.email


async def test_password_change_needs_the_current_password(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    headers = bearer(member.user, settings)
    missing = await client.patch("/v1/users/me", json={"password": "a-brand-new-password"}, headers=headers)
    assert_problem(missing, 422, "validation_failed")
    assert "a-brand-new-password" not in missing.text

    wrong = {"password": "a-brand-new-password", "current_password": "not-my-password"}
    response = await client.patch("/v1/users/me", json=wrong, headers=headers)
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["detail"] == [
        {
            "type": "invalid_current_password",
            "loc": ["body", "current_password"],
            "msg": "The current password is incorrect.",
        }
    ]
    assert "not-my-password" not in response.text
    # Nothing changed: the old password still signs in.
    login = await client.post("/v1/auth/token", data={"username": member.email, "password": member.password})
    assert login.status_code == 200


async def test_password_change_signs_out_every_session(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    tokens = (await client.post("/v1/auth/token", data={"username": member.email, "password": member.password})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    change = {"password": "a-brand-new-password", "current_password": member.password}
    assert (await client.patch("/v1/users/me", json=change, headers=headers)).status_code == 200
    assert_problem(await client.get("/v1/users/me", headers=headers), 401, "authentication_failed")
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(refresh, 400, "invalid_grant")


async def test_deactivate_myself(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    tokens = (await client.post("/v1/auth/token", data={"username": member.email, "password": member.password})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = await client.delete("/v1/users/me", headers=headers)
    assert response.status_code == 204
    assert_problem(await client.get("/v1/users/me", headers=headers), 401, "authentication_failed")
    refresh = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(refresh, 400, "invalid_grant")
    login = await client.post("/v1/auth/token", data={"username": member.email, "password": member.password})
    assert_problem(login, 400, "invalid_grant")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/v1/users/me"), ("PATCH", "/v1/users/me"), ("DELETE", "/v1/users/me")]
)
async def test_me_needs_a_token(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={} if method == "PATCH" else None)
    assert_problem(response, 401, "authentication_failed")
