"""SQL for webhooks and their deliveries."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import User
from app.models.webhook import Webhook, WebhookDelivery
from app.repositories.keyset import fetch_page
from app.schemas.page import KeysetCursor, KeysetPage


async def add(session: AsyncSession, webhook: Webhook) -> Webhook:
    session.add(webhook)
    await session.flush()
    await session.refresh(webhook)
    return webhook


async def get_owned(session: AsyncSession, webhook_id: uuid.UUID, user_id: uuid.UUID) -> Webhook | None:
    """Ownership is part of the query: another user's webhook is simply not found."""
    return await session.scalar(select(Webhook).where(Webhook.id == webhook_id, Webhook.user_id == user_id))


async def get(session: AsyncSession, webhook_id: uuid.UUID) -> Webhook | None:
    return await session.get(Webhook, webhook_id)


async def delete(session: AsyncSession, webhook: Webhook) -> None:
    await session.delete(webhook)
    await session.flush()


async def list_owned_page(
    session: AsyncSession, user_id: uuid.UUID, *, after: KeysetCursor | None, limit: int
) -> KeysetPage[Webhook]:
    statement = select(Webhook).where(Webhook.user_id == user_id)
    return await fetch_page(
        session, statement, created_at=Webhook.created_at, id_=Webhook.id, after=after, limit=limit, newest_first=True
    )


async def subscribed_to(session: AsyncSession, event: str) -> list[Webhook]:
    """Webhooks subscribed to `event` whose owner is active: a subscription stops with its owner."""
    statement = (
        select(Webhook)
        .join(User, User.id == Webhook.user_id)
        .where(Webhook.events.contains([event]), User.is_active.is_(True))
    )
    return list(await session.scalars(statement))


async def owner_is_active(session: AsyncSession, webhook: Webhook) -> bool:
    return bool(await session.scalar(select(User.is_active).where(User.id == webhook.user_id)))


async def count_owned_locking_owner(session: AsyncSession, user_id: uuid.UUID) -> int:
    """How many webhooks `user_id` holds, with the owner's row locked until the transaction ends.

    The lock serialises one owner's registrations, so two at once cannot both see room
    for one more; other owners are not held up.
    """
    await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    return int(await session.scalar(select(func.count()).select_from(Webhook).where(Webhook.user_id == user_id)) or 0)


async def add_delivery(session: AsyncSession, delivery: WebhookDelivery) -> WebhookDelivery:
    session.add(delivery)
    await session.flush()
    return delivery


async def get_delivery_for_update(session: AsyncSession, delivery_id: uuid.UUID) -> WebhookDelivery | None:
    return await session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update())


async def list_deliveries_page(
    session: AsyncSession, webhook_id: uuid.UUID, *, after: KeysetCursor | None, limit: int
) -> KeysetPage[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    return await fetch_page(
        session,
        statement,
        created_at=WebhookDelivery.created_at,
        id_=WebhookDelivery.id,
        after=after,
        limit=limit,
        newest_first=True,
    )


async def list_by_owner(session: AsyncSession, user_id: uuid.UUID) -> list[Webhook]:
    """Every webhook of one user, oldest first (the account export)."""
    statement = select(Webhook).where(Webhook.user_id == user_id).order_by(Webhook.created_at, Webhook.id)
    return list(await session.scalars(statement))
