"""Delivering events to webhooks: sign, send, classify the answer, retry with backoff, or give up.

Fan-out sends the first attempt to every subscriber at once (ASY-5); later
attempts are outbox jobs scheduled in the future, so a retry survives restarts
and Redis outages like any other job. Every attempt of one delivery carries
the same `webhook-id`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import WebhookSettings
from app.core.ssrf import Resolver, UnsafeTargetError, check_target
from app.core.webhook_signing import sign
from app.models.webhook import DeliveryStatus, Webhook, WebhookDelivery
from app.repositories import webhooks as webhooks_repository
from app.schemas.jobs import DeliverWebhook, DispatchEvent, JobName
from app.services import outbox as outbox_service

logger = structlog.get_logger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429})
MAX_RETRY_DELAY_SECONDS = 3600
USER_AGENT = "service-webhooks/1.0"


@dataclass(frozen=True, slots=True)
class Attempt:
    response_status: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after_seconds: int | None = None

    @property
    def delivered(self) -> bool:
        return self.response_status is not None and 200 <= self.response_status < 300


def message_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


def delivery_id_for(event_id: uuid.UUID, webhook_id: uuid.UUID) -> uuid.UUID:
    """Deterministic, so a fan-out repeated after a crash reuses each delivery's id (and webhook-id)."""
    return uuid.uuid5(event_id, str(webhook_id))


async def fan_out(
    session: AsyncSession, http: httpx.AsyncClient, resolver: Resolver, settings: WebhookSettings, event: DispatchEvent
) -> None:
    webhooks = await webhooks_repository.subscribed_to(session, str(event.event))
    body = {"type": str(event.event), "timestamp": datetime.now(UTC).isoformat(), "data": event.data}
    deliveries = [
        await webhooks_repository.add_delivery(
            session,
            WebhookDelivery(
                id=delivery_id_for(event.event_id, webhook.id),
                webhook_id=webhook.id,
                event=str(event.event),
                payload=body,
            ),
        )
        for webhook in webhooks
    ]
    # Only HTTP runs concurrently; the session is used one step at a time afterwards.
    outcomes = await asyncio.gather(
        *(
            send(http, resolver, settings, webhook, delivery)
            for webhook, delivery in zip(webhooks, deliveries, strict=True)
        ),
        return_exceptions=True,
    )
    failures = 0
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            logger.error("webhook attempt crashed", delivery_id=str(delivery.id), exc_info=outcome)
            attempt = Attempt(error=repr(outcome), retryable=True)
        else:
            attempt = outcome
        failures += not attempt.delivered
        await record(session, delivery, attempt, settings)
    logger.info("event fanned out", event_type=str(event.event), webhooks=len(webhooks), not_delivered=failures)


async def retry(
    session: AsyncSession, http: httpx.AsyncClient, resolver: Resolver, settings: WebhookSettings, job: DeliverWebhook
) -> None:
    delivery = await webhooks_repository.get_delivery_for_update(session, job.delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return  # removed with its webhook, or already settled
    webhook = await webhooks_repository.get(session, delivery.webhook_id)
    if webhook is None:
        return
    if not await webhooks_repository.owner_is_active(session, webhook):
        # Deactivated since the event: nothing more is sent on the owner's behalf.
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = "the webhook's owner is deactivated"
        await session.flush()
        return
    await record(session, delivery, await send(http, resolver, settings, webhook, delivery), settings)


async def send(
    http: httpx.AsyncClient, resolver: Resolver, settings: WebhookSettings, webhook: Webhook, delivery: WebhookDelivery
) -> Attempt:
    if not settings.allow_private_targets:
        try:
            # Again: DNS may have changed since registration, and so may the allowed ports.
            await check_target(webhook.url, resolver, allowed_ports=settings.allowed_ports)
        except UnsafeTargetError as exc:
            return Attempt(error=f"unsafe target: {exc}", retryable=False)
    body = orjson.dumps(delivery.payload)
    msg_id, timestamp = message_id(delivery.id), int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        # The reply is read raw and cut short: a compressed one would be unreadable, and could
        # expand without limit if it were decompressed.
        "accept-encoding": "identity",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(webhook.secret, msg_id, timestamp, body),
    }
    return await _post(http, webhook.url, body, headers, settings)


async def _post(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], settings: WebhookSettings
) -> Attempt:
    """POST and classify the answer, whatever the receiver does with its reply.

    The status line decides; of the reply body only a prefix is kept for the delivery
    record, and the connection is dropped without reading the rest, so a receiver that
    answers with gigabytes costs a few kilobytes. One deadline covers connect, headers and
    that prefix: httpx's timeouts bound each read, and a body dripping a byte at a time
    would satisfy every one of them for as long as it liked.
    """
    status: int | None = None
    retry_after: int | None = None
    failure = "no answer"
    prefix = bytearray()
    limit = settings.response_prefix_bytes
    try:
        async with (
            asyncio.timeout(settings.timeout_seconds),
            http.stream(
                "POST", url, content=body, headers=headers, timeout=settings.timeout_seconds, follow_redirects=False
            ) as response,
        ):
            status, retry_after = response.status_code, _retry_after(response)
            async for chunk in response.aiter_raw():
                prefix += chunk[: limit - len(prefix)]
                if len(prefix) >= limit:
                    break
    except TimeoutError:
        failure = f"no answer within {settings.timeout_seconds:g} s"
    except httpx.TransportError as exc:  # connect, read, write, timeout, protocol
        failure = repr(exc)
    if status is None:
        return Attempt(error=failure, retryable=True)
    # The answer came: a reply body that was slow or broken off does not change what it said.
    return Attempt(
        response_status=status,
        retryable=status in RETRYABLE_STATUSES or status >= 500,
        retry_after_seconds=retry_after,
        error=None if 200 <= status < 300 else _describe(status, bytes(prefix)),
    )


def _describe(status: int, reply: bytes) -> str:
    """`HTTP 503: <the start of the reply>`, as text PostgreSQL accepts (no NUL characters)."""
    text = reply.decode("utf-8", errors="replace").replace("\x00", "").strip()
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


async def record(session: AsyncSession, delivery: WebhookDelivery, attempt: Attempt, settings: WebhookSettings) -> None:
    delivery.attempts += 1
    delivery.response_status = attempt.response_status
    delivery.last_error = attempt.error
    if attempt.delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = datetime.now(UTC)
    elif attempt.retryable and delivery.attempts < settings.max_attempts:
        delay = backoff_seconds(delivery.attempts, settings, attempt.retry_after_seconds)
        await outbox_service.enqueue(
            session,
            JobName.DELIVER_WEBHOOK,
            DeliverWebhook(delivery_id=delivery.id),
            available_at=datetime.now(UTC) + timedelta(seconds=delay),
        )
    else:
        delivery.status = DeliveryStatus.FAILED
        logger.warning("webhook delivery failed for good", delivery_id=str(delivery.id), error=attempt.error)
    await session.flush()


def backoff_seconds(attempts: int, settings: WebhookSettings, retry_after: int | None) -> float:
    """Exponential with full jitter; never sooner than the receiver's Retry-After."""
    ceiling = min(settings.retry_base_seconds * 2 ** (attempts - 1), MAX_RETRY_DELAY_SECONDS)
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
    return max(delay, min(retry_after or 0, MAX_RETRY_DELAY_SECONDS))


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else None
