"""GET /v1/users/me/export: the caller's own data, all of it, and no secret (SPEC §6 data)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.tokens import digest
from app.models.personal_access_token import PersonalAccessToken
from app.models.webhook import Webhook
from app.schemas.posts import PostStatus
from tests.support.factories import StoredUser, bearer, create_post, create_user
from tests.support.problems import assert_problem


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


async def test_the_export_holds_the_account_posts_webhooks_and_tokens(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    draft = await create_post(db_session, member.user)
    published = await create_post(db_session, member.user, status=PostStatus.PUBLISHED)
    stranger = await create_user(db_session, settings)
    await create_post(db_session, stranger.user, status=PostStatus.PUBLISHED)
    headers = bearer(member.user, settings)
    hook = await client.post(
        "/v1/webhooks", json={"url": "https://hooks.example.com/in", "events": ["post.published"]}, headers=headers
    )
    assert hook.status_code == 201, hook.text
    pat = await client.post(
        "/v1/users/me/tokens", json={"name": "CI", "scopes": [], "expires_in_days": 5}, headers=headers
    )
    assert pat.status_code == 201

    response = await client.get("/v1/users/me/export", headers=headers)
    assert response.status_code == 200, response.text
    export = response.json()
    assert set(export) == {"exported_at", "account", "posts", "webhooks", "personal_access_tokens"}
    assert export["exported_at"].endswith("+00:00")
    assert export["account"]["id"] == str(member.user.id)
    assert export["account"]["email"] == member.email
    assert [post["id"] for post in export["posts"]] == [str(draft.id), str(published.id)]
    assert {post["status"] for post in export["posts"]} == {"draft", "published"}
    assert [webhook["id"] for webhook in export["webhooks"]] == [hook.json()["id"]]
    assert [token["id"] for token in export["personal_access_tokens"]] == [pat.json()["id"]]
    # No secret of any kind: webhook signing secret, token, password hash.
    assert hook.json()["secret"] not in response.text
    assert pat.json()["token"] not in response.text
    assert member.user.password_hash not in response.text
    assert "secret" not in export["webhooks"][0]
    assert "token" not in export["personal_access_tokens"][0]


async def test_an_empty_account_exports_empty_lists(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    export = (await client.get("/v1/users/me/export", headers=bearer(member.user, settings))).json()
    assert (export["posts"], export["webhooks"], export["personal_access_tokens"]) == ([], [], [])


async def test_the_export_needs_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/users/me/export"), 401, "authentication_failed")


async def test_tokens_are_listed_oldest_first_whatever_their_ids(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    created_at = datetime(2026, 1, 1, tzinfo=UTC)
    low, high = uuid.UUID(int=1), uuid.UUID(int=2)
    # Inserted in the opposite order to the one expected, so neither insertion order nor id order alone passes.
    rows = [
        (high, created_at + timedelta(seconds=1)),  # newest
        (uuid.UUID(int=4), created_at),  # same instant as the next: the id breaks the tie
        (uuid.UUID(int=3), created_at),
        (low, created_at - timedelta(seconds=1)),  # oldest, with the smallest id
    ]
    for token_id, at in rows:
        db_session.add(
            PersonalAccessToken(
                id=token_id,
                user_id=member.user.id,
                name=str(token_id),
                token_hash=digest(str(token_id)),
                scopes=[],
                expires_at=created_at + timedelta(days=3650),
                created_at=at,
            )
        )
        await db_session.commit()
    export = (await client.get("/v1/users/me/export", headers=bearer(member.user, settings))).json()
    listed = [token["id"] for token in export["personal_access_tokens"]]
    assert listed == [str(low), str(uuid.UUID(int=3)), str(uuid.UUID(int=4)), str(high)]


async def test_other_users_webhooks_stay_out(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    stranger = await create_user(db_session, settings)
    db_session.add(
        Webhook(user_id=stranger.user.id, url="https://x.example.com", events=["post.published"], secret="s")
    )
    await db_session.commit()
    export = (await client.get("/v1/users/me/export", headers=bearer(member.user, settings))).json()
    assert export["webhooks"] == []
