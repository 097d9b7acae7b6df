"""Webhook delivery through the real worker, with respx at the HTTP boundary (TST-6; SPEC §3 Webhooks)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import respx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, WebhookSettings
from app.core.webhook_signing import verify
from app.models.outbox import JobOutbox
from app.models.user import User
from app.models.webhook import Webhook, WebhookDelivery
from app.resources import Resources
from app.schemas.events import EventType
from app.services import events as events_service
from app.worker.relay import relay_once
from tests.support.dns import static_resolver
from tests.support.factories import StoredUser, create_user
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst

pytestmark = pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)

POST = {"id": "9b2f3c1e-0000-4000-8000-000000000001", "title": "Hello"}


@pytest.fixture
async def owner(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings)


async def subscribe(db_session: AsyncSession, owner: StoredUser, url: str) -> Webhook:
    webhook = Webhook(
        user_id=owner.user.id, url=url, events=["post.published"], secret="whsec_" + "A" * 32, description=None
    )
    db_session.add(webhook)
    await db_session.commit()
    return webhook


async def publish(resources: Resources) -> None:
    async with resources.session_factory() as session:
        await events_service.emit(session, EventType.POST_PUBLISHED, POST)
        await session.commit()


async def deliver(settings: Settings, resources: Resources, arq_pool, **worker_options) -> None:
    """Relay every due outbox row and let the worker run until the queue is empty."""
    await relay_once(resources, arq_pool, batch_size=100)
    await run_burst(settings, **worker_options)


async def deliveries(db_session: AsyncSession) -> list[WebhookDelivery]:
    db_session.expire_all()
    return list(await db_session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


async def make_retries_due(db_session: AsyncSession) -> None:
    await db_session.execute(update(JobOutbox).values(available_at=datetime.now(UTC)))
    await db_session.commit()


async def test_a_published_event_is_delivered_signed(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    secret = (await subscribe(db_session, owner, "https://hooks.example.com/receive")).secret
    route = respx_mock.post("https://hooks.example.com/receive").respond(204)
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)

    [request] = [call.request for call in route.calls]
    body = json.loads(request.content)
    assert body["type"] == "post.published"
    assert body["data"] == POST
    [delivery] = await deliveries(db_session)
    assert request.headers["webhook-id"] == f"msg_{delivery.id.hex}"
    timestamp = int(request.headers["webhook-timestamp"])
    assert abs(timestamp - datetime.now(UTC).timestamp()) < 60
    # What a receiver runs with the secret it was shown at registration:
    assert verify(
        secret, request.headers["webhook-id"], timestamp, request.content, request.headers["webhook-signature"]
    )
    assert not verify(
        "whsec_" + "B" * 32,
        request.headers["webhook-id"],
        timestamp,
        request.content,
        request.headers["webhook-signature"],
    )
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None


async def test_one_event_fans_out_and_failures_are_collected(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    for name in ("ok", "down", "broken", "gone"):
        await subscribe(db_session, owner, f"https://{name}.example.com/hook")
    respx_mock.post("https://ok.example.com/hook").respond(200)
    respx_mock.post("https://down.example.com/hook").respond(503)
    respx_mock.post("https://broken.example.com/hook").mock(side_effect=httpx.ConnectError("refused"))
    respx_mock.post("https://gone.example.com/hook").respond(404)
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)

    by_url = {}
    for delivery in await deliveries(db_session):
        webhook = await db_session.get(Webhook, delivery.webhook_id)
        assert webhook is not None
        by_url[webhook.url.split("//")[1].split(".")[0]] = (delivery.status, delivery.response_status)
    assert by_url == {
        "ok": ("delivered", 200),
        "down": ("pending", 503),  # retried later
        "broken": ("pending", None),  # retried later
        "gone": ("failed", 404),  # a 4xx other than 408/429 will not get better
    }
    retries = list(await db_session.scalars(select(JobOutbox).where(JobOutbox.job_name == "deliver_webhook")))
    assert len(retries) == 2
    assert all(row.available_at > datetime.now(UTC) for row in retries)


async def test_retries_keep_the_webhook_id_and_end_in_failed(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    settings = worker_settings.model_copy(
        update={"webhooks": WebhookSettings(_env_file=None, allow_private_targets=True, max_attempts=3)}
    )
    await subscribe(db_session, owner, "https://flaky.example.com/hook")
    route = respx_mock.post("https://flaky.example.com/hook").respond(500)
    await publish(resources)
    await deliver(settings, resources, arq_pool)
    for _ in range(2):
        await make_retries_due(db_session)
        await deliver(settings, resources, arq_pool)

    assert len({call.request.headers["webhook-id"] for call in route.calls}) == 1
    assert route.call_count == 3
    [delivery] = await deliveries(db_session)
    assert (delivery.status, delivery.attempts) == ("failed", 3)


async def test_a_retry_that_succeeds_marks_the_delivery_delivered(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    await subscribe(db_session, owner, "https://slow.example.com/hook")
    respx_mock.post("https://slow.example.com/hook").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "120"}), httpx.Response(200)]
    )
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)

    [retry] = list(await db_session.scalars(select(JobOutbox).where(JobOutbox.job_name == "deliver_webhook")))
    assert (retry.available_at - datetime.now(UTC)).total_seconds() > 100  # Retry-After is honoured
    await make_retries_due(db_session)
    await deliver(worker_settings, resources, arq_pool)
    [delivery] = await deliveries(db_session)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 2, 200)


@pytest.mark.respx(assert_all_called=False)
async def test_redirects_are_not_followed(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    await subscribe(db_session, owner, "https://moved.example.com/hook")
    respx_mock.post("https://moved.example.com/hook").respond(302, headers={"Location": "http://169.254.169.254/"})
    internal = respx_mock.route(host="169.254.169.254").respond(200)
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)
    assert not internal.called
    [delivery] = await deliveries(db_session)
    assert (delivery.status, delivery.response_status) == ("failed", 302)


@pytest.mark.respx(assert_all_called=False)
async def test_targets_are_checked_again_after_dns_at_delivery(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    guarded = worker_settings.model_copy(
        update={"webhooks": WebhookSettings(_env_file=None, allow_private_targets=False)}
    )
    await subscribe(db_session, owner, "https://rebound.example.com/hook")  # registered while it was public
    receiver = respx_mock.post("https://rebound.example.com/hook").respond(200)
    await publish(resources)
    from app.worker.settings import build_startup

    await deliver(
        guarded,
        resources,
        arq_pool,
        on_startup=build_startup(guarded, resolver=static_resolver({"rebound.example.com": ["10.0.0.7"]})),
    )
    assert not receiver.called
    [delivery] = await deliveries(db_session)
    assert delivery.status == "failed"
    assert delivery.last_error is not None
    assert "non-public" in delivery.last_error


async def test_no_subscribers_no_deliveries(
    respx_mock: respx.MockRouter, worker_settings: Settings, resources: Resources, arq_pool, db_session: AsyncSession
) -> None:
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)
    assert await deliveries(db_session) == []
    db_session.expire_all()
    [row] = await db_session.scalars(select(JobOutbox))
    assert row.processed_at is not None


async def test_the_delivery_list_shows_status_and_attempts(
    client: httpx.AsyncClient,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    from tests.support.factories import bearer

    webhook_id = (await subscribe(db_session, owner, "https://hooks.example.com/receive")).id
    with respx.mock(assert_all_mocked=True) as router:
        router.post("https://hooks.example.com/receive").respond(200)
        await publish(resources)
        await deliver(worker_settings, resources, arq_pool)
    response = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=bearer(owner.user, worker_settings))
    [item] = response.json()["items"]
    assert item["event"] == "post.published"
    assert (item["status"], item["attempts"], item["response_status"]) == ("delivered", 1, 200)
    assert uuid.UUID(item["id"]).version == 5  # derived from the event and the webhook
    assert item["delivered_at"].endswith("+00:00")


@pytest.mark.respx(assert_all_called=False)
async def test_a_deactivated_owners_webhooks_receive_nothing(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    departed = await create_user(db_session, worker_settings, is_active=False)
    await subscribe(db_session, owner, "https://active.example.com/hook")
    await subscribe(db_session, departed, "https://departed.example.com/hook")
    active = respx_mock.post("https://active.example.com/hook").respond(200)
    gone = respx_mock.post("https://departed.example.com/hook").respond(200)
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)

    assert active.call_count == 1
    assert not gone.called
    [delivery] = await deliveries(db_session)  # none was even recorded for the departed owner
    assert delivery.status == "delivered"


@pytest.mark.respx(assert_all_called=False)
async def test_a_pending_retry_stops_when_its_owner_is_deactivated(
    respx_mock: respx.MockRouter,
    worker_settings: Settings,
    resources: Resources,
    arq_pool,
    db_session: AsyncSession,
    owner: StoredUser,
) -> None:
    owner_id = owner.user.id
    await subscribe(db_session, owner, "https://flaky.example.com/hook")
    route = respx_mock.post("https://flaky.example.com/hook").respond(503)
    await publish(resources)
    await deliver(worker_settings, resources, arq_pool)
    [delivery] = await deliveries(db_session)
    assert delivery.status == "pending"

    await db_session.execute(update(User).where(User.id == owner_id).values(is_active=False))
    await db_session.commit()
    await make_retries_due(db_session)
    await deliver(worker_settings, resources, arq_pool)

    assert route.call_count == 1  # the retry sent nothing
    [delivery] = await deliveries(db_session)
    assert (delivery.status, delivery.last_error) == ("failed", "the webhook's owner is deactivated")
