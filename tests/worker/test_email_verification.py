"""E-mail verification on the wire: links read from a real SMTP server and followed (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models.account_token import AccountToken
from app.resources import Resources
from tests.support.factories import StoredUser, UserCreateFactory, bearer, create_user
from tests.support.mail import link_in, text_of, token_in
from tests.support.problems import assert_problem
from tests.support.smtp import Inbox
from tests.worker.account_mail import deliver_mail
from tests.worker.conftest import ARQ_CLOSE_WARNING

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)

VERIFY = "/verify-email"


async def sign_up(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    body = UserCreateFactory.build().model_dump()
    response = await client.post("/v1/auth/signup", json=body)
    assert response.status_code == 201, response.text
    return response.json(), body["password"]


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def unverified(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, verified=False)


async def test_the_welcome_email_carries_a_link_that_verifies_the_address(
    client: httpx.AsyncClient,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    user, password = await sign_up(client)
    await deliver_mail(resources, arq_pool, worker_settings)

    [welcome] = inbox.to(user["email"])
    assert welcome["Subject"] == "Welcome!"
    url = link_in(welcome, VERIFY)
    assert url.startswith(f"{str(worker_settings.app.public_url).rstrip('/')}{VERIFY}?token=")
    token = token_in(welcome, VERIFY)
    assert len(token) >= 43  # 32 random bytes, base64url
    # Only the digest is stored: the token itself is in the e-mail and nowhere else.
    [stored] = await db_session.scalars(select(AccountToken))
    assert stored.token_hash != token
    assert token not in stored.token_hash

    headers = await sign_in(client, user["email"], password)
    assert (await client.get("/v1/users/me", headers=headers)).json()["email_verified"] is False
    response = await client.post("/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 204, response.text
    assert (await client.get("/v1/users/me", headers=headers)).json()["email_verified"] is True


async def test_a_verification_link_works_once(
    client: httpx.AsyncClient, resources: Resources, arq_pool: ArqRedis, worker_settings: Settings, inbox: Inbox
) -> None:
    user, _ = await sign_up(client)
    await deliver_mail(resources, arq_pool, worker_settings)
    token = token_in(inbox.to(user["email"])[0], VERIFY)

    assert (await client.post("/v1/auth/verify-email", json={"token": token})).status_code == 204
    again = await client.post("/v1/auth/verify-email", json={"token": token})
    assert_problem(again, 400, "invalid_token")


async def test_every_unusable_token_gets_the_same_answer(
    client: httpx.AsyncClient,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
    db_session: AsyncSession,
) -> None:
    """Unknown, used, expired and wrong-purpose tokens are indistinguishable from outside."""
    user, _ = await sign_up(client)
    await client.post("/v1/auth/password-reset", json={"email": user["email"]})
    await deliver_mail(resources, arq_pool, worker_settings)
    messages = inbox.to(user["email"])
    verify_token = token_in(next(m for m in messages if m["Subject"] == "Welcome!"), VERIFY)
    reset_token = token_in(next(m for m in messages if m["Subject"] == "Reset your password"), "/reset-password")

    bodies = []
    # A reset token does not verify an address.
    bodies.append(
        assert_problem(await client.post("/v1/auth/verify-email", json={"token": reset_token}), 400, "invalid_token")
    )
    bodies.append(
        assert_problem(await client.post("/v1/auth/verify-email", json={"token": "x" * 43}), 400, "invalid_token")
    )
    await db_session.execute(update(AccountToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    await db_session.commit()
    bodies.append(
        assert_problem(await client.post("/v1/auth/verify-email", json={"token": verify_token}), 400, "invalid_token")
    )
    assert len({(body["title"], body["detail"]) for body in bodies}) == 1


async def test_a_token_is_not_echoed_in_a_422(client: httpx.AsyncClient) -> None:
    secret = "s" * 300
    problem = assert_problem(
        await client.post("/v1/auth/verify-email", json={"token": secret}), 422, "validation_failed"
    )
    assert secret not in str(problem)


async def test_asking_again_sends_a_new_link_to_the_account(
    client: httpx.AsyncClient,
    unverified: StoredUser,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    headers = bearer(unverified.user, settings)
    response = await client.post("/v1/auth/verify-email/request", headers=headers)
    assert response.status_code == 202, response.text
    assert set(response.json()) == {"detail"}
    await deliver_mail(resources, arq_pool, worker_settings)

    [message] = inbox.to(unverified.email)
    assert message["Subject"] == "Verify your e-mail address"
    assert link_in(message, VERIFY) in text_of(message)
    assert (await client.post("/v1/auth/verify-email", json={"token": token_in(message, VERIFY)})).status_code == 204
    assert (await client.get("/v1/users/me", headers=headers)).json()["email_verified"] is True
    # Verified now: asking again is a conflict, and no e-mail is recorded.
    again = await client.post("/v1/auth/verify-email/request", headers=headers)
    assert_problem(again, 409, "email_already_verified")


async def test_asking_for_links_is_limited_per_account(
    client: httpx.AsyncClient, unverified: StoredUser, settings: Settings
) -> None:
    headers = bearer(unverified.user, settings)
    allowed = settings.rate_limit.verify_email_per_account.count
    for _ in range(allowed):
        assert (await client.post("/v1/auth/verify-email/request", headers=headers)).status_code == 202
    limited = await client.post("/v1/auth/verify-email/request", headers=headers)
    assert_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0


async def test_asking_for_a_link_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/auth/verify-email/request"), 401, "authentication_failed")


async def test_a_link_verifies_the_account_it_was_sent_to_and_no_other(
    client: httpx.AsyncClient,
    unverified: StoredUser,
    db_session: AsyncSession,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    other = await create_user(db_session, settings, verified=False)
    await client.post("/v1/auth/verify-email/request", headers=bearer(other.user, settings))
    await deliver_mail(resources, arq_pool, worker_settings)
    others_token = token_in(inbox.to(other.email)[0], VERIFY)

    # Posted by (or on behalf of) someone else, the link still proves only its own address.
    response = await client.post(
        "/v1/auth/verify-email", json={"token": others_token}, headers=bearer(unverified.user, settings)
    )
    assert response.status_code == 204
    assert (await client.get("/v1/users/me", headers=bearer(unverified.user, settings))).json()[
        "email_verified"
    ] is False
    assert (await client.get("/v1/users/me", headers=bearer(other.user, settings))).json()["email_verified"] is True


async def test_changing_the_address_unverifies_it_and_sends_a_link_to_the_new_one(
    client: httpx.AsyncClient,
    unverified: StoredUser,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    headers = bearer(unverified.user, settings)
    await client.post("/v1/auth/verify-email/request", headers=headers)
    await deliver_mail(resources, arq_pool, worker_settings)
    old_token = token_in(inbox.to(unverified.email)[0], VERIFY)
    assert (await client.post("/v1/auth/verify-email", json={"token": old_token})).status_code == 204

    change = {"email": "moved@example.com", "current_password": unverified.password}
    response = await client.patch("/v1/users/me", json=change, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "moved@example.com"
    assert response.json()["email_verified"] is False
    await deliver_mail(resources, arq_pool, worker_settings)

    [message] = inbox.to("moved@example.com")
    assert (await client.post("/v1/auth/verify-email", json={"token": token_in(message, VERIFY)})).status_code == 204
    assert (await client.get("/v1/users/me", headers=headers)).json()["email_verified"] is True


async def test_a_link_sent_to_an_old_address_does_not_verify_the_new_one(
    client: httpx.AsyncClient,
    unverified: StoredUser,
    settings: Settings,
    resources: Resources,
    arq_pool: ArqRedis,
    worker_settings: Settings,
    inbox: Inbox,
) -> None:
    headers = bearer(unverified.user, settings)
    await client.post("/v1/auth/verify-email/request", headers=headers)
    await deliver_mail(resources, arq_pool, worker_settings)
    old_token = token_in(inbox.to(unverified.email)[0], VERIFY)

    change = {"email": "elsewhere@example.com", "current_password": unverified.password}
    assert (await client.patch("/v1/users/me", json=change, headers=headers)).status_code == 200
    assert_problem(await client.post("/v1/auth/verify-email", json={"token": old_token}), 400, "invalid_token")
    assert (await client.get("/v1/users/me", headers=headers)).json()["email_verified"] is False


@pytest.mark.parametrize(
    "change",
    [{"email": "new@example.com"}, {"email": "new@example.com", "current_password": "not-the-password"}],
)
async def test_changing_the_address_needs_the_current_password(
    client: httpx.AsyncClient, unverified: StoredUser, settings: Settings, change: dict[str, str]
) -> None:
    response = await client.patch("/v1/users/me", json=change, headers=bearer(unverified.user, settings))
    assert_problem(response, 422, "validation_failed")
    me = await client.get("/v1/users/me", headers=bearer(unverified.user, settings))
    assert me.json()["email"] == unverified.email


async def test_an_address_another_account_uses_is_taken(
    client: httpx.AsyncClient, unverified: StoredUser, db_session: AsyncSession, settings: Settings
) -> None:
    other = await create_user(db_session, settings)
    change = {"email": other.email.upper(), "current_password": unverified.password}
    response = await client.patch("/v1/users/me", json=change, headers=bearer(unverified.user, settings))
    assert_problem(response, 409, "email_taken")


async def test_creating_a_webhook_needs_a_verified_address(
    client: httpx.AsyncClient, unverified: StoredUser, settings: Settings
) -> None:
    body = {"url": "https://hooks.example.com/in", "events": ["post.published"]}
    response = await client.post("/v1/webhooks", json=body, headers=bearer(unverified.user, settings))
    problem = assert_problem(response, 403, "email_not_verified")
    assert problem["title"] == "E-mail not verified"
    assert (await client.get("/v1/webhooks", headers=bearer(unverified.user, settings))).json()["items"] == []
