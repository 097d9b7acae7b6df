"""What a receiver answers cannot hold the worker: its reply is cut to a prefix and one deadline
bounds each attempt. Real HTTP servers on loopback, the worker's real HTTP client."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, WebhookSettings
from app.models.webhook import Webhook, WebhookDelivery
from app.resources import Resources, create_http_client
from app.schemas.events import EventType
from app.services import events as events_service
from app.services import webhook_delivery as webhook_delivery_service
from app.worker.relay import relay_once
from tests.support.dns import static_resolver
from tests.support.factories import create_user
from tests.support.receiver import http_receiver
from tests.worker.conftest import ARQ_CLOSE_WARNING, run_burst

pytestmark = pytest.mark.slow

BIG_REPLY_BYTES = 64 * 1024 * 1024
DEADLINE_SECONDS = 1.0


def webhook_settings(
    *, timeout_seconds: float = DEADLINE_SECONDS, response_prefix_bytes: int = 1024
) -> WebhookSettings:
    return WebhookSettings(
        _env_file=None,
        allow_private_targets=True,  # the receivers are on loopback
        timeout_seconds=timeout_seconds,
        response_prefix_bytes=response_prefix_bytes,
    )


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    client = create_http_client(settings)  # the worker's own client, as built at start-up
    yield client
    await client.aclose()


async def attempt(http: httpx.AsyncClient, url: str, settings: WebhookSettings) -> webhook_delivery_service.Attempt:
    webhook = Webhook(url=url, secret="whsec_" + "A" * 32)
    delivery = WebhookDelivery(id=uuid.uuid4(), payload={"type": "post.published", "data": {}})
    # Well past the deadline: a send that ignores it fails here instead of hanging the run.
    async with asyncio.timeout(DEADLINE_SECONDS * 10):
        return await webhook_delivery_service.send(http, static_resolver({}), settings, webhook, delivery)


async def test_a_huge_reply_is_cut_to_its_prefix_and_never_held_in_memory(http: httpx.AsyncClient) -> None:
    settings = webhook_settings(timeout_seconds=30, response_prefix_bytes=1024)
    async with http_receiver(status=500, reply_bytes=BIG_REPLY_BYTES) as receiver:
        tracemalloc.start()
        try:
            result = await attempt(http, f"{receiver.base_url}/hook", settings)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await asyncio.wait_for(receiver.hung_up.wait(), timeout=10)  # we closed the connection early

    assert (result.response_status, result.retryable) == (500, True)
    assert result.error == "HTTP 500: " + "x" * 1024
    # A 64 MiB reply: what was allocated while handling it stays a small fraction of that.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {BIG_REPLY_BYTES / 1e6:.0f} MB reply"
    assert receiver.sent_bytes < BIG_REPLY_BYTES // 4


async def test_an_endless_reply_ends_at_the_prefix(http: httpx.AsyncClient) -> None:
    async with http_receiver(reply_bytes=None) as receiver:
        result = await attempt(http, f"{receiver.base_url}/hook", webhook_settings())
        await asyncio.wait_for(receiver.hung_up.wait(), timeout=10)
    assert (result.response_status, result.delivered, result.error) == (200, True, None)


async def test_a_reply_that_drips_is_cut_off_at_the_deadline_and_its_status_counts(http: httpx.AsyncClient) -> None:
    # Each byte arrives well within httpx's read timeout, so only an overall deadline stops it.
    async with http_receiver(reply_bytes=None, drip_seconds=0.05) as receiver:
        started = time.monotonic()
        result = await attempt(http, f"{receiver.base_url}/hook", webhook_settings())
        took = time.monotonic() - started
    assert (result.response_status, result.delivered) == (200, True)
    assert took < DEADLINE_SECONDS * 3


async def test_headers_that_never_come_are_a_retryable_timeout(http: httpx.AsyncClient) -> None:
    async with http_receiver(delay_seconds=DEADLINE_SECONDS * 5) as receiver:
        result = await attempt(http, f"{receiver.base_url}/hook", webhook_settings())
    assert result.response_status is None
    assert result.retryable
    assert result.error is not None


async def test_a_reply_with_nul_bytes_is_recorded_without_them(http: httpx.AsyncClient) -> None:
    async with http_receiver(status=503, reply_body=b"down\x00 for maintenance") as receiver:
        result = await attempt(http, f"{receiver.base_url}/hook", webhook_settings())
    assert result.error == "HTTP 503: down for maintenance"  # PostgreSQL refuses NUL in text


@pytest.mark.filterwarnings(ARQ_CLOSE_WARNING)
async def test_the_delivery_record_keeps_the_start_of_a_huge_error_reply(
    worker_settings: Settings, resources: Resources, arq_pool: ArqRedis, db_session: AsyncSession
) -> None:
    owner = await create_user(db_session, worker_settings)
    async with http_receiver(status=503, reply_bytes=BIG_REPLY_BYTES) as receiver:
        db_session.add(
            Webhook(
                user_id=owner.user.id,
                url=f"{receiver.base_url}/hook",
                events=["post.published"],
                secret="whsec_" + "A" * 32,
            )
        )
        await db_session.commit()
        async with resources.session_factory() as session:
            await events_service.emit(session, EventType.POST_PUBLISHED, {"title": "big"})
            await session.commit()
        await relay_once(resources, arq_pool, batch_size=10)
        await run_burst(worker_settings)

    db_session.expire_all()
    [delivery] = await db_session.scalars(select(WebhookDelivery))
    assert (delivery.status, delivery.response_status) == ("pending", 503)  # retried later
    assert delivery.last_error == "HTTP 503: " + "x" * worker_settings.webhooks.response_prefix_bytes
