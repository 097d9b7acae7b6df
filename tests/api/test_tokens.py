"""POST /v1/auth/token, /refresh, /logout (SPEC §3 Auth; DEP-7, DEP-8, RFC 6749 §5)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from app.core.security import hash_refresh_token
from app.models.refresh_token import RefreshToken
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.logs import events
from tests.support.problems import assert_problem


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


async def login(client: httpx.AsyncClient, email: str, password: str, **form: str) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password, **form})


async def test_password_grant_returns_a_token_pair(client: httpx.AsyncClient, member: StoredUser) -> None:
    response = await login(client, member.email, member.password, grant_type="password")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer"
    assert 60 <= body["expires_in"] <= 3600
    assert body["scope"] == "posts:write"
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == str(member.user.id)


async def test_email_is_matched_case_insensitively(client: httpx.AsyncClient, member: StoredUser) -> None:
    assert (await login(client, member.email.upper(), member.password)).status_code == 200


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient, member: StoredUser
) -> None:
    wrong_password = assert_problem(await login(client, member.email, "not-the-password"), 400, "invalid_grant")
    unknown_email = assert_problem(await login(client, "nobody@example.com", member.password), 400, "invalid_grant")
    for body in (wrong_password, unknown_email):
        assert body["error"] == "invalid_grant"  # RFC 6749 §5.2, inside the Problem Details body
        del body["request_id"]
    assert wrong_password == unknown_email


async def test_deactivated_account_cannot_sign_in(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    inactive = await create_user(db_session, settings, is_active=False)
    assert_problem(await login(client, inactive.email, inactive.password), 400, "invalid_grant")


async def test_scope_parameter_narrows_the_grant(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    response = await login(client, admin.email, admin.password, scope="users:read")
    assert response.json()["scope"] == "users:read"
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert (await client.get("/v1/users", headers=headers)).status_code == 200
    assert_problem(await client.patch(f"/v1/users/{admin.user.id}", json={}, headers=headers), 403, "permission_denied")


async def test_without_a_scope_parameter_every_held_scope_is_granted(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    response = await login(client, admin.email, admin.password)
    assert response.json()["scope"] == "posts:write users:read users:write"  # RFC 6749 §3.3: space-separated


async def test_asking_for_exactly_the_held_scopes_is_granted(client: httpx.AsyncClient, member: StoredUser) -> None:
    response = await login(client, member.email, member.password, scope="posts:write")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "posts:write"


async def test_asking_for_a_scope_not_held_is_invalid_scope(client: httpx.AsyncClient, member: StoredUser) -> None:
    body = assert_problem(await login(client, member.email, member.password, scope="users:write"), 400, "invalid_scope")
    assert body["error"] == "invalid_scope"


async def test_invalid_scope_names_every_scope_not_held(client: httpx.AsyncClient, member: StoredUser) -> None:
    response = await login(client, member.email, member.password, scope="users:write posts:write users:read")
    body = assert_problem(response, 400, "invalid_scope")
    assert body["detail"] == "Not granted to this account: users:read users:write."


async def test_other_grant_types_are_unsupported_grant_type(client: httpx.AsyncClient, member: StoredUser) -> None:
    response = await login(client, member.email, member.password, grant_type="client_credentials")
    body = assert_problem(response, 400, "unsupported_grant_type")
    assert body["error"] == "unsupported_grant_type"


async def test_refresh_rotates_the_pair(client: httpx.AsyncClient, member: StoredUser) -> None:
    first = (await login(client, member.email, member.password)).json()
    response = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == first["scope"]


async def test_refresh_never_widens_the_grant(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    admin = await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)
    narrowed = (await login(client, admin.email, admin.password, scope="users:read users:write")).json()
    # An administrator takes `users:write` away; the refresh token still names it.
    revoke = {"scopes": ["posts:write", "users:read"]}
    await client.patch(f"/v1/users/{admin.user.id}", json=revoke, headers=bearer(admin.user, settings))

    response = await client.post("/v1/auth/refresh", json={"refresh_token": narrowed["refresh_token"]})
    assert response.status_code == 200, response.text
    # Neither the scope left out at sign-in nor the one taken away since comes back.
    assert response.json()["scope"] == "users:read"


async def test_an_expired_refresh_token_is_invalid_grant(
    client: httpx.AsyncClient, db_session: AsyncSession, member: StoredUser
) -> None:
    pair = (await login(client, member.email, member.password)).json()
    await db_session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == hash_refresh_token(pair["refresh_token"]))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db_session.commit()
    assert_problem(
        await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 400, "invalid_grant"
    )


async def test_a_deactivated_accounts_refresh_token_is_refused(
    client: httpx.AsyncClient, db_session: AsyncSession, member: StoredUser
) -> None:
    pair = (await login(client, member.email, member.password)).json()
    # Switched off behind the API's back, so no token was revoked: the account check alone must refuse.
    member.user.is_active = False
    await db_session.commit()
    assert_problem(
        await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 400, "invalid_grant"
    )


async def test_replaying_a_rotated_refresh_token_revokes_the_family(
    client: httpx.AsyncClient, member: StoredUser
) -> None:
    first = (await login(client, member.email, member.password)).json()
    second = (await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()

    replay = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert assert_problem(replay, 400, "invalid_grant")["error"] == "invalid_grant"
    # The legitimate holder's newer token died with the family.
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(after, 400, "invalid_grant")


async def test_other_sign_ins_survive_a_replay(client: httpx.AsyncClient, member: StoredUser) -> None:
    laptop = (await login(client, member.email, member.password)).json()
    phone = (await login(client, member.email, member.password)).json()
    await client.post("/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    await client.post("/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})  # replay
    response = await client.post("/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert response.status_code == 200


async def test_logout_revokes_the_family(client: httpx.AsyncClient, member: StoredUser) -> None:
    first = (await login(client, member.email, member.password)).json()
    second = (await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    response = await client.post("/v1/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(
        await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}), 400, "invalid_grant"
    )


async def test_logout_with_an_unknown_token_is_204(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/auth/logout", json={"refresh_token": "never-issued"})).status_code == 204


@pytest.mark.parametrize("body", [{"refresh_token": ""}, {"refresh_token": "x" * 300}, {"token": "x"}, {}])
async def test_malformed_refresh_bodies_are_invalid_request_at_the_alias_too(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    problem = assert_problem(await client.post("/v1/auth/refresh", json=body), 400, "invalid_request")
    assert problem["error"] == "invalid_request"
    assert problem["error_description"]


async def test_an_unknown_refresh_token_is_invalid_grant(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/auth/refresh", json={"refresh_token": "forged"}), 400, "invalid_grant")


async def test_sign_in_and_out_leave_an_audit_line(
    client: httpx.AsyncClient, member: StoredUser, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.audit"):
        tokens = (await login(client, member.email, member.password)).json()
        await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert [(line["action"], line.get("email")) for line in events(caplog, "audit")] == [
        ("signed_in", member.email),
        ("signed_out", None),
    ]
