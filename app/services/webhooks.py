"""Webhook subscriptions: registering, listing, removing, and the deliveries each one received."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import WebhookSettings
from app.core.errors import FieldInvalid, NotFound, WebhookLimitReached
from app.core.ssrf import Resolver, UnsafeTargetError, check_target
from app.core.webhook_signing import new_secret
from app.models.webhook import Webhook, WebhookDelivery
from app.repositories import webhooks as webhooks_repository
from app.schemas.page import KeysetPage, PageQuery
from app.schemas.webhooks import WebhookCreate


async def register(
    session: AsyncSession, user_id: uuid.UUID, data: WebhookCreate, *, resolver: Resolver, settings: WebhookSettings
) -> Webhook:
    url = str(data.url)
    if not settings.allow_private_targets:
        try:
            await check_target(url, resolver, allowed_ports=settings.allowed_ports)
        except UnsafeTargetError as exc:
            raise FieldInvalid("url", f"Webhooks cannot target this URL: {exc}.", error_type="unsafe_url") from exc
    if await webhooks_repository.count_owned_locking_owner(session, user_id) >= settings.max_per_user:
        raise WebhookLimitReached(f"An account can hold at most {settings.max_per_user} webhooks; remove one first.")
    webhook = Webhook(
        user_id=user_id,
        url=url,
        events=[str(event) for event in data.events],
        description=data.description,
        secret=new_secret(),
    )
    return await webhooks_repository.add(session, webhook)


async def get_owned(session: AsyncSession, webhook_id: uuid.UUID, user_id: uuid.UUID) -> Webhook:
    webhook = await webhooks_repository.get_owned(session, webhook_id, user_id)
    if webhook is None:
        raise NotFound("No webhook with this id.")
    return webhook


async def list_owned(session: AsyncSession, user_id: uuid.UUID, query: PageQuery) -> KeysetPage[Webhook]:
    return await webhooks_repository.list_owned_page(session, user_id, after=query.cursor, limit=query.limit)


async def remove(session: AsyncSession, webhook: Webhook) -> None:
    await webhooks_repository.delete(session, webhook)


async def list_deliveries(session: AsyncSession, webhook: Webhook, query: PageQuery) -> KeysetPage[WebhookDelivery]:
    return await webhooks_repository.list_deliveries_page(session, webhook.id, after=query.cursor, limit=query.limit)
