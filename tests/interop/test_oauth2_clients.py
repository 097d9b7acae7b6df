"""The token endpoint as the OAuth2 client libraries users bring see it (RFC 6749 §4.3, §5, §6).

authlib (its httpx-based OAuth2Client) and requests-oauthlib each sign in with the
password grant, refresh on their own when the access token has expired, and turn
every refusal into their own exception class, which only happens when the error body
carries RFC 6749's `error` member on a 400.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from oauthlib.oauth2 import (
    BackendApplicationClient,
    Client,
    InvalidGrantError,
    InvalidScopeError,
    LegacyApplicationClient,
    OAuth2Error,
    UnsupportedGrantTypeError,
)
from requests_oauthlib import OAuth2Session
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES
from tests.support.factories import StoredUser, create_user

TOKEN_PATH = "/v1/auth/token"
PASSWORD_CLIENT = LegacyApplicationClient(client_id="reference-client")


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


@pytest.fixture
async def admin(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)


@pytest.fixture
def plain_http_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses http:// unless told; the test server listens on loopback without TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


# --- authlib -----------------------------------------------------------------------------


@pytest.fixture
def authlib_client(server_url: str) -> Iterator[OAuth2Client]:
    with OAuth2Client(base_url=server_url, token_endpoint=f"{server_url}{TOKEN_PATH}") as client:
        yield client


def test_authlib_password_grant_then_calls_with_the_token(
    authlib_client: OAuth2Client, server_url: str, member: StoredUser
) -> None:
    token = authlib_client.fetch_token(username=member.email, password=member.password)
    assert token["token_type"] == "bearer"
    assert token["scope"] == "posts:write"
    assert authlib_client.get(f"{server_url}/v1/users/me").json()["email"] == member.email


def test_authlib_refreshes_an_expired_token_by_itself(server_url: str, member: StoredUser) -> None:
    updates: list[dict[str, Any]] = []
    with OAuth2Client(
        token_endpoint=f"{server_url}{TOKEN_PATH}", update_token=lambda token, **_: updates.append(dict(token))
    ) as client:
        first = dict(client.fetch_token(username=member.email, password=member.password))
        client.token["expires_at"] = int(time.time()) - 1  # the access token's lifetime is over

        response = client.get(f"{server_url}/v1/users/me")

        assert response.status_code == 200
        [refreshed] = updates
        assert refreshed["access_token"] != first["access_token"]
        assert refreshed["refresh_token"] != first["refresh_token"]  # rotated
        # The spent refresh token is refused from now on, and presenting it ends the sign-in.
        with pytest.raises(OAuthError) as replay:
            client.refresh_token(refresh_token=first["refresh_token"])
        assert replay.value.error == "invalid_grant"


def test_authlib_narrows_the_scope_on_refresh_and_refuses_a_wider_one(
    authlib_client: OAuth2Client, admin: StoredUser
) -> None:
    token = authlib_client.fetch_token(username=admin.email, password=admin.password)
    narrowed = authlib_client.refresh_token(refresh_token=token["refresh_token"], scope="users:read")
    assert narrowed["scope"] == "users:read"
    with pytest.raises(OAuthError) as wider:
        authlib_client.refresh_token(refresh_token=narrowed["refresh_token"], scope="users:read admin:everything")
    assert wider.value.error == "invalid_scope"


AUTHLIB_REFUSALS: dict[str, tuple[Callable[[OAuth2Client, StoredUser], object], str]] = {
    "wrong password": (lambda c, u: c.fetch_token(username=u.email, password="not-the-password"), "invalid_grant"),
    "unknown refresh token": (lambda c, _: c.refresh_token(refresh_token="never-issued"), "invalid_grant"),
    "scope not held": (
        lambda c, u: c.fetch_token(username=u.email, password=u.password, scope="users:write"),
        "invalid_scope",
    ),
    "another grant type": (lambda c, _: c.fetch_token(grant_type="client_credentials"), "unsupported_grant_type"),
    "password left out": (lambda c, u: c.fetch_token(grant_type="password", username=u.email), "invalid_request"),
    "refresh token left out": (lambda c, _: c.fetch_token(grant_type="refresh_token"), "invalid_request"),
}


@pytest.mark.parametrize("case", AUTHLIB_REFUSALS)
def test_authlib_raises_its_own_error_for_every_refusal(
    authlib_client: OAuth2Client, member: StoredUser, case: str
) -> None:
    call, error = AUTHLIB_REFUSALS[case]
    with pytest.raises(OAuthError) as refused:
        call(authlib_client, member)
    assert refused.value.error == error
    assert refused.value.description  # error_description, for the person reading the log


def test_authlib_sees_the_rate_limit_as_an_oauth2_error(
    authlib_client: OAuth2Client, server_url: str, member: StoredUser, settings: Settings
) -> None:
    for _ in range(settings.rate_limit.token_per_account.count):
        with pytest.raises(OAuthError):
            authlib_client.fetch_token(username=member.email, password="not-the-password")
    with pytest.raises(OAuthError) as limited:
        authlib_client.fetch_token(username=member.email, password=member.password)
    assert limited.value.error == "invalid_request"
    raw = httpx.post(f"{server_url}{TOKEN_PATH}", data={"username": member.email, "password": member.password})
    assert raw.status_code == 429
    assert int(raw.headers["retry-after"]) > 0
    assert raw.json()["code"] == "rate_limited"


# --- requests-oauthlib ----------------------------------------------------------------


@pytest.fixture
def oauthlib_session(plain_http_allowed: None) -> Iterator[OAuth2Session]:
    with OAuth2Session(client=LegacyApplicationClient(client_id="reference-client")) as session:
        yield session


def test_requests_oauthlib_password_grant_then_calls_with_the_token(
    oauthlib_session: OAuth2Session, server_url: str, member: StoredUser
) -> None:
    token = oauthlib_session.fetch_token(f"{server_url}{TOKEN_PATH}", username=member.email, password=member.password)
    assert token["token_type"] == "bearer"
    assert oauthlib_session.get(f"{server_url}/v1/users/me").json()["email"] == member.email


def test_requests_oauthlib_refreshes_an_expired_token_by_itself(
    plain_http_allowed: None, server_url: str, member: StoredUser
) -> None:
    token_url = f"{server_url}{TOKEN_PATH}"
    updates: list[dict[str, Any]] = []
    with OAuth2Session(
        client=LegacyApplicationClient(client_id="reference-client"),
        auto_refresh_url=token_url,
        token_updater=updates.append,
    ) as session:
        first = dict(session.fetch_token(token_url, username=member.email, password=member.password))
        session.token = {**first, "expires_at": time.time() - 1}  # the access token's lifetime is over

        response = session.get(f"{server_url}/v1/users/me")

        assert response.status_code == 200
        [refreshed] = updates
        assert refreshed["access_token"] != first["access_token"]
        with pytest.raises(InvalidGrantError):
            session.refresh_token(token_url, refresh_token=first["refresh_token"])


def _oauthlib_fetch(client: Client, user: StoredUser, url: str, **kwargs: Any) -> object:
    # The session's scope is what the client compares the answer with; the keyword is what it sends.
    with OAuth2Session(client=client, scope=kwargs.get("scope")) as session:
        return session.fetch_token(url, **kwargs)


# oauthlib picks its class from `error`; several share one (invalid_request), so the test reads `error` too.
OAUTHLIB_REFUSALS: dict[str, tuple[Callable[[StoredUser, str], object], type[OAuth2Error]]] = {
    "wrong password": (
        lambda u, url: _oauthlib_fetch(PASSWORD_CLIENT, u, url, username=u.email, password="not-the-password"),
        InvalidGrantError,
    ),
    "scope not held": (
        lambda u, url: _oauthlib_fetch(
            PASSWORD_CLIENT, u, url, username=u.email, password=u.password, scope="users:write"
        ),
        InvalidScopeError,
    ),
    "client credentials grant": (
        lambda u, url: _oauthlib_fetch(BackendApplicationClient(client_id="reference-client"), u, url),
        UnsupportedGrantTypeError,
    ),
    "a malformed parameter": (
        lambda u, url: _oauthlib_fetch(PASSWORD_CLIENT, u, url, username="x" * 400, password=u.password),
        OAuth2Error,
    ),
    "unknown refresh token": (
        lambda _, url: OAuth2Session(client=PASSWORD_CLIENT).refresh_token(url, refresh_token="never-issued"),
        InvalidGrantError,
    ),
}


OAUTHLIB_ERRORS = {
    "wrong password": "invalid_grant",
    "scope not held": "invalid_scope",
    "client credentials grant": "unsupported_grant_type",
    "a malformed parameter": "invalid_request",
    "unknown refresh token": "invalid_grant",
}


@pytest.mark.parametrize("case", OAUTHLIB_REFUSALS)
def test_requests_oauthlib_raises_its_own_error_for_every_refusal(
    plain_http_allowed: None, server_url: str, member: StoredUser, case: str
) -> None:
    call, error_class = OAUTHLIB_REFUSALS[case]
    with pytest.raises(error_class) as refused:
        call(member, f"{server_url}{TOKEN_PATH}")
    assert refused.value.error == OAUTHLIB_ERRORS[case]
    assert refused.value.description
