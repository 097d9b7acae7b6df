"""/v1/webhooks: subscriptions, ownership, secrets shown once, and the SSRF guard (SPEC §3 Webhooks)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.v1.webhooks import get_resolver
from app.core.config import Settings, WebhookSettings
from tests.support.dns import PUBLIC_HOSTS, static_resolver
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem

HOOK = {"url": "https://hooks.example.com/receive", "events": ["post.published"]}


@pytest.fixture
async def owner(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


@pytest.fixture
async def stranger(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


@pytest.fixture
def guarded(app: FastAPI, settings: Settings) -> None:
    """Production behaviour: private targets refused, DNS answered from a fixed table."""
    override_settings(app, settings, webhooks=WebhookSettings(_env_file=None, allow_private_targets=False))

    async def resolver():  # the dependency returns the resolver function
        return static_resolver(
            {**PUBLIC_HOSTS, "intranet.example.com": ["10.0.0.5"], "mixed.example.com": ["93.184.216.34", "127.0.0.1"]}
        )

    app.dependency_overrides[get_resolver] = resolver


async def test_register_shows_the_secret_once(client: httpx.AsyncClient, owner: StoredUser, settings: Settings) -> None:
    headers = bearer(owner.user, settings)
    body = {**HOOK, "events": ["post.published", "post.published"], "description": "CI"}
    response = await client.post("/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["post.published"]
    assert set(created) == {"id", "url", "events", "description", "secret", "created_at"}
    # The one response that holds the secret may not be kept by any cache.
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"

    listed = (await client.get("/v1/webhooks", headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]
    assert created["secret"] not in str(listed)


async def test_webhooks_are_private_to_their_owner(
    client: httpx.AsyncClient, owner: StoredUser, stranger: StoredUser, settings: Settings
) -> None:
    created = (await client.post("/v1/webhooks", json=HOOK, headers=bearer(owner.user, settings))).json()
    theirs = bearer(stranger.user, settings)
    assert (await client.get("/v1/webhooks", headers=theirs)).json()["items"] == []
    assert_problem(await client.delete(f"/v1/webhooks/{created['id']}", headers=theirs), 404, "not_found")
    assert_problem(await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=theirs), 404, "not_found")
    # Still there for its owner.
    mine = await client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=bearer(owner.user, settings))
    assert mine.status_code == 200
    assert mine.json() == {"items": [], "next_cursor": None, "limit": 20}


async def test_remove_a_webhook(client: httpx.AsyncClient, owner: StoredUser, settings: Settings) -> None:
    headers = bearer(owner.user, settings)
    created = (await client.post("/v1/webhooks", json=HOOK, headers=headers)).json()
    assert (await client.delete(f"/v1/webhooks/{created['id']}", headers=headers)).status_code == 204
    assert_problem(await client.delete(f"/v1/webhooks/{created['id']}", headers=headers), 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [
        {**HOOK, "events": []},
        {**HOOK, "events": ["post.deleted"]},
        {**HOOK, "url": "ftp://hooks.example.com/"},
        {**HOOK, "url": "not a url"},
        {**HOOK, "secret": "mine"},
        {"url": HOOK["url"]},
    ],
)
async def test_invalid_registrations_are_422(
    client: httpx.AsyncClient, owner: StoredUser, settings: Settings, body: dict[str, object]
) -> None:
    response = await client.post("/v1/webhooks", json=body, headers=bearer(owner.user, settings))
    assert_problem(response, 422, "validation_failed")


async def test_registration_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/webhooks", json=HOOK), 401, "authentication_failed")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://LOCALHOST./hook",
        "http://service.internal/hook",
        "http://2130706433/hook",
        "http://0177.0.0.1/hook",
        "http://0x7f.0.0.1/hook",
        "http://127.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:a00:1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://intranet.example.com/hook",
        "http://mixed.example.com/hook",
        "http://does-not-resolve.example/hook",
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[::ffff:0:a00:1]/hook",
        "http://hooks.example.com:8443/hook",
        "http://other.example.com:8443/x",
        "http://user:secret@hooks.example.com/hook",
        "http://hooks.example.com@127.0.0.1/hook",
    ],
)
async def test_internal_targets_are_refused(
    client: httpx.AsyncClient, owner: StoredUser, settings: Settings, guarded: None, url: str
) -> None:
    response = await client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=bearer(owner.user, settings))
    problem = assert_problem(response, 422, "validation_failed")
    [error] = problem["detail"]
    assert (error["loc"], error["type"]) == (["body", "url"], "unsafe_url")


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/receive", "http://other.example.com/x", "https://93.184.216.34:443/"]
)
async def test_public_targets_are_accepted(
    client: httpx.AsyncClient, owner: StoredUser, settings: Settings, guarded: None, url: str
) -> None:
    response = await client.post("/v1/webhooks", json={**HOOK, "url": url}, headers=bearer(owner.user, settings))
    assert response.status_code == 201, response.text


async def test_other_ports_are_allowed_when_private_targets_are(
    client: httpx.AsyncClient, owner: StoredUser, settings: Settings
) -> None:
    # Local development: a receiver on any local port.
    response = await client.post(
        "/v1/webhooks", json={**HOOK, "url": "http://127.0.0.1:8080/hook"}, headers=bearer(owner.user, settings)
    )
    assert response.status_code == 201, response.text


async def test_subscriptions_per_user_are_capped(
    app: FastAPI, client: httpx.AsyncClient, owner: StoredUser, stranger: StoredUser, settings: Settings
) -> None:
    override_settings(
        app, settings, webhooks=WebhookSettings(_env_file=None, allow_private_targets=True, max_per_user=3)
    )
    headers = bearer(owner.user, settings)
    created = [(await client.post("/v1/webhooks", json=HOOK, headers=headers)).json() for _ in range(3)]

    refused = await client.post("/v1/webhooks", json=HOOK, headers=headers)
    problem = assert_problem(refused, 409, "webhook_limit_reached")
    assert "3" in problem["detail"]
    assert len((await client.get("/v1/webhooks", headers=headers)).json()["items"]) == 3
    # The cap is per account, and removing one makes room again.
    assert (await client.post("/v1/webhooks", json=HOOK, headers=bearer(stranger.user, settings))).status_code == 201
    assert (await client.delete(f"/v1/webhooks/{created[0]['id']}", headers=headers)).status_code == 204
    assert (await client.post("/v1/webhooks", json=HOOK, headers=headers)).status_code == 201


async def test_concurrent_registrations_cannot_overshoot_the_cap(
    app: FastAPI, client: httpx.AsyncClient, owner: StoredUser, settings: Settings
) -> None:
    override_settings(
        app, settings, webhooks=WebhookSettings(_env_file=None, allow_private_targets=True, max_per_user=3)
    )
    headers = bearer(owner.user, settings)
    responses = await asyncio.gather(*(client.post("/v1/webhooks", json=HOOK, headers=headers) for _ in range(8)))
    assert sorted(response.status_code for response in responses) == [201] * 3 + [409] * 5
    assert len((await client.get("/v1/webhooks", headers=headers)).json()["items"]) == 3
