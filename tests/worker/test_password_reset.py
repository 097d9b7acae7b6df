"""Password reset on the wire: links read from a real SMTP server and followed; every misuse refused (SPEC §6)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models.account_token import AccountToken
from app.models.outbox import JobOutbox
from app.models.user import User
from app.resources import Resources
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.mail import link_in, token_in
from tests.support.problems import assert_problem
from tests.support.smtp import Inbox
from tests.worker.account_mail import deliver_mail
from tests.worker.conftest import ARQ_CLOSE_WARNING

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)

RESET = "/reset-password"
NEW_PASSWORD = "a-brand-new-passphrase-42"


@pytest.fixture
async def member(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


async def reset_token_for(
    client: httpx.AsyncClient,
    member: StoredUser,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> str:
    response = await client.post("/v1/auth/password-reset", json={"email": member.email})
    assert response.status_code == 202, response.text
    await deliver_mail(resources, arq_pool, worker_settings)
    message = [m for m in inbox.to(member.email) if m["Subject"] == "Reset your password"][-1]
    return token_in(message, RESET)


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


async def test_a_reset_link_sets_a_new_password_and_signs_out_everywhere(
    client: httpx.AsyncClient,
    member: StoredUser,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    session = (await sign_in(client, member.email, member.password)).json()
    old_access = {"Authorization": f"Bearer {session['access_token']}"}
    minted = bearer(member.user, settings)

    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    response = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text

    # Every access token issued before stops working; every refresh-token family is revoked.
    assert_problem(await client.get("/v1/users/me", headers=old_access), 401, "authentication_failed")
    assert_problem(await client.get("/v1/users/me", headers=minted), 401, "authentication_failed")
    refreshed = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert_problem(refreshed, 400, "invalid_grant")
    # The old password is gone; the new one works.
    assert_problem(await sign_in(client, member.email, member.password), 400, "invalid_grant")
    assert (await sign_in(client, member.email, NEW_PASSWORD)).status_code == 200

    await deliver_mail(resources, arq_pool, worker_settings)
    [notice] = [m for m in inbox.to(member.email) if m["Subject"] == "Your password was changed"]
    assert link_in(notice, RESET).startswith(str(worker_settings.app.public_url).rstrip("/"))


async def test_the_link_is_built_from_the_public_url_and_expires_in_thirty_minutes(
    client: httpx.AsyncClient,
    member: StoredUser,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    [message] = inbox.to(member.email)
    assert link_in(message, RESET) == f"{str(worker_settings.app.public_url).rstrip('/')}{RESET}?token={token}"
    [stored] = await db_session.scalars(select(AccountToken))
    lifetime = stored.expires_at - stored.created_at
    assert timedelta(minutes=29) < lifetime <= timedelta(minutes=30, seconds=5)


async def test_the_answer_is_the_same_whether_or_not_the_account_exists(
    client: httpx.AsyncClient,
    member: StoredUser,
    db_session: AsyncSession,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    known = await client.post("/v1/auth/password-reset", json={"email": member.email})
    unknown = await client.post("/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.headers["content-length"] == unknown.headers["content-length"]
    # The same work, too: each request recorded one job, and did nothing else.
    assert await db_session.scalar(select(func.count()).select_from(JobOutbox)) == 2

    await deliver_mail(resources, arq_pool, worker_settings)
    assert len(inbox.to(member.email)) == 1
    assert inbox.to("nobody@example.com") == []
    assert len(inbox.messages) == 1


async def test_a_deactivated_account_gets_no_reset_email(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    inactive = await create_user(db_session, settings, is_active=False)
    assert (await client.post("/v1/auth/password-reset", json={"email": inactive.email})).status_code == 202
    await deliver_mail(resources, arq_pool, worker_settings)
    assert inbox.messages == []


async def test_a_link_of_a_deactivated_account_is_refused(
    client: httpx.AsyncClient,
    member: StoredUser,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    """Checked by itself, not only through the credentials version every deactivation bumps today."""
    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    await db_session.execute(update(User).where(User.id == member.user.id).values(is_active=False))
    await db_session.commit()
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert_problem(await client.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_token")


async def test_a_reset_link_works_once(
    client: httpx.AsyncClient,
    member: StoredUser,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert (await client.post("/v1/auth/password-reset/confirm", json=body)).status_code == 204
    again = {"token": token, "new_password": "yet-another-passphrase-7"}
    assert_problem(await client.post("/v1/auth/password-reset/confirm", json=again), 400, "invalid_token")
    assert (await sign_in(client, member.email, NEW_PASSWORD)).status_code == 200


async def test_an_expired_link_is_refused(
    client: httpx.AsyncClient,
    member: StoredUser,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    await db_session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    await db_session.commit()
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert_problem(await client.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_token")
    assert (await sign_in(client, member.email, member.password)).status_code == 200


async def test_a_verification_token_cannot_reset_a_password(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    unverified = await create_user(db_session, settings, verified=False)
    await client.post("/v1/auth/verify-email/request", headers=bearer(unverified.user, settings))
    await deliver_mail(resources, arq_pool, worker_settings)
    verify_token = token_in(inbox.to(unverified.email)[0], "/verify-email")

    body = {"token": verify_token, "new_password": NEW_PASSWORD}
    assert_problem(await client.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_token")
    assert (await sign_in(client, unverified.email, unverified.password)).status_code == 200


async def test_a_password_change_kills_outstanding_reset_links(
    client: httpx.AsyncClient,
    member: StoredUser,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    first = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    second = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    assert first != second
    assert (
        await client.post("/v1/auth/password-reset/confirm", json={"token": second, "new_password": NEW_PASSWORD})
    ).status_code == 204
    # The first link was never used, but it was issued for the old credentials.
    stale = {"token": first, "new_password": "an-attackers-passphrase"}
    assert_problem(await client.post("/v1/auth/password-reset/confirm", json=stale), 400, "invalid_token")


async def test_a_self_service_password_change_also_kills_them(
    client: httpx.AsyncClient,
    member: StoredUser,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    change = {"password": NEW_PASSWORD, "current_password": member.password}
    assert (await client.patch("/v1/users/me", json=change, headers=bearer(member.user, settings))).status_code == 200
    body = {"token": token, "new_password": "an-attackers-passphrase"}
    assert_problem(await client.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_token")
    await deliver_mail(resources, arq_pool, worker_settings)
    assert [m for m in inbox.to(member.email) if m["Subject"] == "Your password was changed"]


async def test_of_two_racing_confirms_exactly_one_succeeds(
    client: httpx.AsyncClient,
    member: StoredUser,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    token = await reset_token_for(client, member, resources, arq_pool, worker_settings, inbox)
    passwords = ["first-racing-passphrase", "second-racing-passphrase"]
    responses = await asyncio.gather(
        *(
            client.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": password})
            for password in passwords
        )
    )
    assert sorted(response.status_code for response in responses) == [204, 400]
    winner = passwords[[response.status_code for response in responses].index(204)]
    loser = next(password for password in passwords if password != winner)
    assert (await sign_in(client, member.email, winner)).status_code == 200
    assert_problem(await sign_in(client, member.email, loser), 400, "invalid_grant")


async def test_reset_requests_are_limited_per_address(
    client: httpx.AsyncClient, member: StoredUser, settings: Settings
) -> None:
    allowed = settings.rate_limit.password_reset_per_email.count
    for _ in range(allowed):
        assert (await client.post("/v1/auth/password-reset", json={"email": member.email})).status_code == 202
    # The same address in another case is the same address.
    limited = await client.post("/v1/auth/password-reset", json={"email": member.email.upper()})
    assert_problem(limited, 429, "rate_limited")
    # Another address is not held back by the first one's limit.
    assert (await client.post("/v1/auth/password-reset", json={"email": "other@example.com"})).status_code == 202


async def test_reset_requests_are_limited_per_client(client: httpx.AsyncClient, settings: Settings) -> None:
    allowed = settings.rate_limit.password_reset.count
    for number in range(allowed):
        response = await client.post("/v1/auth/password-reset", json={"email": f"someone{number}@example.com"})
        assert response.status_code == 202
    limited = await client.post("/v1/auth/password-reset", json={"email": "one-more@example.com"})
    assert_problem(limited, 429, "rate_limited")


@pytest.mark.parametrize(
    "body",
    [
        {"token": "x" * 43},
        {"token": "x" * 43, "new_password": "tiny-pw"},
        {"new_password": NEW_PASSWORD},
        {"token": "x" * 43, "new_password": NEW_PASSWORD, "extra": 1},
    ],
)
async def test_malformed_confirmations_are_422_and_echo_no_secret(
    client: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await client.post("/v1/auth/password-reset/confirm", json=body)
    assert_problem(response, 422, "validation_failed")
    assert "x" * 43 not in response.text
    assert "tiny-pw" not in response.text


async def test_an_unknown_token_is_invalid(client: httpx.AsyncClient) -> None:
    body = {"token": "x" * 43, "new_password": NEW_PASSWORD}
    problem = assert_problem(await client.post("/v1/auth/password-reset/confirm", json=body), 400, "invalid_token")
    assert problem["title"] == "Invalid token"
