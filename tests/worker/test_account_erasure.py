"""Deleting an account: deactivated at once, erased by the worker's cron after the grace period (SPEC §6 data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.mail import SmtpMailer
from app.core.scopes import SUPERUSER_SCOPES
from app.models.personal_access_token import PersonalAccessToken
from app.models.post import Post
from app.models.user import User
from app.resources import Resources
from app.worker.context import CONTEXT_KEY, WorkerContext
from app.worker.upkeep import erase_deleted_accounts
from tests.support.factories import StoredUser, bearer, create_post, create_user
from tests.support.problems import assert_problem


def worker_ctx(settings: Settings, resources: Resources) -> dict[str, Any]:
    return {CONTEXT_KEY: WorkerContext(settings=settings, resources=resources, mailer=SmtpMailer(settings.smtp))}


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


@pytest.fixture
async def admin(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)


async def reload(db_session: AsyncSession, user: User) -> User | None:
    return await db_session.get(User, user.id, populate_existing=True)


async def delete_me(client: httpx.AsyncClient, member: StoredUser, settings: Settings) -> None:
    response = await client.delete("/v1/users/me", headers=bearer(member.user, settings))
    assert response.status_code == 204


async def make_due(db_session: AsyncSession) -> None:
    await db_session.execute(
        update(User).where(User.erasure_due_at.is_not(None)).values(erasure_due_at=datetime.now(UTC) - timedelta(1))
    )
    await db_session.commit()


async def test_deleting_my_account_deactivates_it_and_schedules_erasure(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings, db_session: AsyncSession
) -> None:
    headers = bearer(member.user, settings)
    await delete_me(client, member, settings)
    assert_problem(await client.get("/v1/users/me", headers=headers), 401, "authentication_failed")
    user = await reload(db_session, member.user)
    assert user is not None
    assert user.is_active is False
    assert user.erasure_due_at is not None
    grace = timedelta(days=settings.auth.account_erasure_grace_days)
    assert grace - timedelta(minutes=1) < user.erasure_due_at - datetime.now(UTC) <= grace


async def test_the_cron_erases_the_account_and_everything_it_owns_once_due(
    client: httpx.AsyncClient,
    member: StoredUser,
    settings: Settings,
    resources: Resources,
    db_session: AsyncSession,
) -> None:
    bystander = await create_user(db_session, settings)
    await create_post(db_session, member.user)
    await create_post(db_session, bystander.user)
    pat = await client.post(
        "/v1/users/me/tokens",
        json={"name": "CI", "scopes": [], "expires_in_days": 5},
        headers=bearer(member.user, settings),
    )
    assert pat.status_code == 201
    await delete_me(client, member, settings)

    # Not due yet: nothing happens.
    assert await erase_deleted_accounts(worker_ctx(settings, resources)) == 0
    assert await reload(db_session, member.user) is not None

    await make_due(db_session)
    assert await erase_deleted_accounts(worker_ctx(settings, resources)) == 1
    assert await reload(db_session, member.user) is None
    assert await db_session.scalar(select(func.count()).select_from(Post).where(Post.author_id == member.user.id)) == 0
    assert await db_session.scalar(select(func.count()).select_from(PersonalAccessToken)) == 0
    # Everyone else is untouched; the address is free again.
    assert await reload(db_session, bystander.user) is not None
    assert await db_session.scalar(select(func.count()).select_from(Post)) == 1
    assert await erase_deleted_accounts(worker_ctx(settings, resources)) == 0


async def test_reactivation_within_the_grace_period_cancels_the_erasure(
    client: httpx.AsyncClient,
    member: StoredUser,
    admin: StoredUser,
    settings: Settings,
    resources: Resources,
    db_session: AsyncSession,
) -> None:
    await delete_me(client, member, settings)
    response = await client.patch(
        f"/v1/users/{member.user.id}", json={"is_active": True}, headers=bearer(admin.user, settings)
    )
    assert response.status_code == 200
    user = await reload(db_session, member.user)
    assert user is not None
    assert user.erasure_due_at is None

    await make_due(db_session)
    assert await erase_deleted_accounts(worker_ctx(settings, resources)) == 0
    assert await reload(db_session, member.user) is not None


async def test_an_administrators_deactivation_is_a_suspension_not_an_erasure(
    client: httpx.AsyncClient,
    member: StoredUser,
    admin: StoredUser,
    settings: Settings,
    resources: Resources,
    db_session: AsyncSession,
) -> None:
    response = await client.patch(
        f"/v1/users/{member.user.id}", json={"is_active": False}, headers=bearer(admin.user, settings)
    )
    assert response.status_code == 200
    user = await reload(db_session, member.user)
    assert user is not None
    assert user.erasure_due_at is None
    assert await erase_deleted_accounts(worker_ctx(settings, resources)) == 0
