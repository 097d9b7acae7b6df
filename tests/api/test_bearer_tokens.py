"""Every class of bad access token is the same 401 (SPEC §3 Auth; DEP-3, DEP-7)."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import REQUIRED_CLAIMS
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.logs import events
from tests.support.problems import assert_problem

OTHER_KEY = "another-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


def claims_for(user_id: uuid.UUID, settings: Settings, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": settings.auth.jwt_issuer,
        "aud": settings.auth.jwt_audience,
        "jti": uuid.uuid4().hex,
        "scope": "posts:write",
        "ver": 1,
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def signed(claims: dict[str, Any], settings: Settings, *, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or settings.jwt_signing_key, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, default=str).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({k: str(v) for k, v in claims.items()})}."


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["scope"] = "users:read users:write"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def without_claim(claim: str, user_id: uuid.UUID, settings: Settings) -> str:
    return signed(claims_for(user_id, settings, **{claim: None}), settings)


def seconds_from_now(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


PAST = datetime.now(UTC) - timedelta(hours=1)
FUTURE = datetime.now(UTC) + timedelta(hours=1)

BAD_TOKENS: dict[str, Callable[[uuid.UUID, Settings], str]] = {
    "alg none": lambda uid, s: unsigned(claims_for(uid, s)),
    "another algorithm": lambda uid, s: signed(claims_for(uid, s), s, algorithm="HS512"),
    "wrong key": lambda uid, s: signed(claims_for(uid, s), s, key=OTHER_KEY),
    "tampered payload": lambda uid, s: tampered(signed(claims_for(uid, s), s)),
    "expired": lambda uid, s: signed(claims_for(uid, s, iat=PAST - timedelta(hours=1), exp=PAST), s),
    "expired beyond the clock skew": lambda uid, s: signed(
        claims_for(uid, s, iat=seconds_from_now(-300), exp=seconds_from_now(-10)), s
    ),
    "not yet valid (nbf)": lambda uid, s: signed(claims_for(uid, s, nbf=FUTURE), s),
    "issued in the future": lambda uid, s: signed(claims_for(uid, s, iat=FUTURE, exp=FUTURE + timedelta(hours=1)), s),
    "wrong audience": lambda uid, s: signed(claims_for(uid, s, aud="someone-else"), s),
    "wrong issuer": lambda uid, s: signed(claims_for(uid, s, iss="someone-else"), s),
    "sub not a uuid": lambda uid, s: signed(claims_for(uid, s, sub="admin"), s),
    "ver not an int": lambda uid, s: signed(claims_for(uid, s, ver="1"), s),
    "ver a boolean": lambda uid, s: signed(claims_for(uid, s, ver=True), s),  # True == 1 in Python
    "scope not a string": lambda uid, s: signed(claims_for(uid, s, scope=["users:read"]), s),
    "unknown user": lambda _uid, s: signed(claims_for(uuid.uuid4(), s), s),
    "old credentials version": lambda uid, s: signed(claims_for(uid, s, ver=0), s),
    "garbage": lambda _uid, _s: "not.a.jwt",
    **{f"missing {claim}": partial(without_claim, claim) for claim in REQUIRED_CLAIMS},
}


INVALID_TOKEN_CHALLENGE = (
    'Bearer error="invalid_token", error_description="The access token is invalid, expired or revoked."'
)


async def _reference_body(client: httpx.AsyncClient, token: str | None = None) -> dict[str, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    body = assert_problem(await client.get("/v1/users/me", headers=headers), 401, "authentication_failed")
    del body["request_id"]
    return body


async def test_a_valid_token_works(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    response = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {signed(claims_for(member.user.id, settings), settings)}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("iat", "exp"),
    [(-300, -2), (2, 300)],
    ids=["expired two seconds ago", "issued two seconds from now"],
)
async def test_a_few_seconds_of_clock_skew_are_tolerated(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, iat: int, exp: int
) -> None:
    # The issuer's clock and ours may disagree by a little (CLOCK_SKEW_SECONDS is 5).
    token = signed(claims_for(member.user.id, settings, iat=seconds_from_now(iat), exp=seconds_from_now(exp)), settings)
    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind", BAD_TOKENS)
async def test_every_bad_token_gets_one_identical_401(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, kind: str
) -> None:
    token = BAD_TOKENS[kind](member.user.id, settings)
    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(response, 401, "authentication_failed")
    # RFC 6750 §3.1: a token was presented, so the challenge says it is invalid; the same for every cause.
    assert response.headers["www-authenticate"] == INVALID_TOKEN_CHALLENGE
    del body["request_id"]
    assert body == await _reference_body(client, token="garbage")


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer "])
async def test_missing_or_other_schemes_get_the_same_401(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await client.get("/v1/users/me", headers=headers)
    body = assert_problem(response, 401, "authentication_failed")
    assert response.headers["www-authenticate"] == "Bearer"
    del body["request_id"]
    assert body == await _reference_body(client)


async def test_a_deactivated_users_token_stops_working(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings, member: StoredUser
) -> None:
    headers = bearer(member.user, settings)
    member.user.is_active = False
    await db_session.commit()
    assert_problem(await client.get("/v1/users/me", headers=headers), 401, "authentication_failed")


async def test_a_token_issued_before_a_password_change_stops_working(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    old = bearer(member.user, settings)
    change = {"password": "a-brand-new-password", "current_password": member.password}
    response = await client.patch("/v1/users/me", json=change, headers=old)
    assert response.status_code == 200, response.text
    assert_problem(await client.get("/v1/users/me", headers=old), 401, "authentication_failed")
    relogin = await client.post("/v1/auth/token", data={"username": member.email, "password": "a-brand-new-password"})
    assert relogin.status_code == 200


async def test_the_callers_id_is_bound_to_the_requests_log_lines(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        await client.get("/v1/users/me", headers=bearer(member.user, settings))
    [line] = events(caplog, "request")
    assert line["user_id"] == str(member.user.id)


async def test_a_missing_scope_is_403_with_an_insufficient_scope_challenge(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    response = await client.get("/v1/users", headers=bearer(member.user, settings))
    body = assert_problem(response, 403, "permission_denied")
    # RFC 6750 §3.1: the challenge names the scope a new token would need.
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="users:read"'
    assert "users:read" in body["detail"]


async def test_a_rejected_token_challenge_is_parseable_by_rfc6750(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    challenge = response.headers["www-authenticate"]
    scheme, _, parameters = challenge.partition(" ")
    assert scheme == "Bearer"
    assert dict(re.findall(r'(\w+)="([^"\\]*)"', parameters)) == {
        "error": "invalid_token",
        "error_description": "The access token is invalid, expired or revoked.",
    }
