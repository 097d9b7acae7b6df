"""Webhook subscriptions, each visible to its owner alone."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.api.deps import DbSession, NoStore, SettingsDep
from app.api.idempotency import Idempotent
from app.api.openapi import links_from_created
from app.api.problems import problem_responses
from app.api.routing import Route
from app.api.security import CurrentUser, VerifiedUser
from app.core.ssrf import Resolver, system_resolver
from app.models.webhook import Webhook
from app.schemas.page import Page, PageQuery
from app.schemas.webhooks import DeliveryRead, WebhookCreate, WebhookCreated, WebhookRead
from app.services import webhooks as webhooks_service

router = APIRouter(prefix="/webhooks", tags=["webhooks"], route_class=Route)


async def get_resolver() -> Resolver:
    """DNS for the SSRF check; a dependency so tests can answer for names without a network."""
    return system_resolver


async def valid_owned_webhook_id(webhook_id: uuid.UUID, user: CurrentUser, session: DbSession) -> Webhook:
    """The caller's webhook, or 404: someone else's is indistinguishable from none."""
    return await webhooks_service.get_owned(session, webhook_id, user.id)


OwnedWebhook = Annotated[Webhook, Depends(valid_owned_webhook_id)]
ResolverDep = Annotated[Resolver, Depends(get_resolver)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook",
    description="Subscribe a URL to events. The response carries the signing secret; it is never shown again "
    "(except to a retry with the same `Idempotency-Key`, which gets the first response back and registers "
    "nothing). URLs on loopback, private, link-local or other internal addresses, or on ports other than the "
    "allowed ones (80 and 443 by default), are refused. An account holds at most `WEBHOOKS_MAX_PER_USER` "
    "webhooks (10 by default): one more is 409 `webhook_limit_reached`. Needs a verified e-mail address "
    "(403 `email_not_verified`).",
    responses={
        201: links_from_created("webhook_id", "webhooks-delete_webhook", "webhooks-list_deliveries"),
        **problem_responses(401, 403, 409, 422),
    },
    # The body holds the signing secret: no cache may keep it.
    dependencies=[Idempotent, NoStore],
)
async def create_webhook(
    body: WebhookCreate, user: VerifiedUser, session: DbSession, settings: SettingsDep, resolver: ResolverDep
) -> WebhookCreated:
    webhook = await webhooks_service.register(session, user.id, body, resolver=resolver, settings=settings.webhooks)
    return WebhookCreated.model_validate(webhook)


@router.get(
    "",
    summary="List my webhooks",
    description="The caller's webhooks, newest first. Secrets are not included.",
    responses=problem_responses(401, 422),
)
async def list_webhooks(
    query: Annotated[PageQuery, Query()], user: CurrentUser, session: DbSession
) -> Page[WebhookRead]:
    page = await webhooks_service.list_owned(session, user.id, query)
    items = [WebhookRead.model_validate(webhook) for webhook in page.rows]
    return Page[WebhookRead](items=items, next_cursor=page.next_cursor, limit=query.limit)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a webhook",
    description="Stop deliveries to this webhook and forget its history.",
    responses=problem_responses(401, 404, 422),
)
async def delete_webhook(webhook: OwnedWebhook, session: DbSession) -> None:
    await webhooks_service.remove(session, webhook)


@router.get(
    "/{webhook_id}/deliveries",
    summary="List deliveries",
    description="Every delivery to this webhook, newest first, with its status and attempts.",
    responses=problem_responses(401, 404, 422),
)
async def list_deliveries(
    webhook: OwnedWebhook, query: Annotated[PageQuery, Query()], session: DbSession
) -> Page[DeliveryRead]:
    page = await webhooks_service.list_deliveries(session, webhook, query)
    items = [DeliveryRead.model_validate(delivery) for delivery in page.rows]
    return Page[DeliveryRead](items=items, next_cursor=page.next_cursor, limit=query.limit)
