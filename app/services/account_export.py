"""The caller's own data in one document: what a person may ask a service to hand over."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.user import User
from app.repositories import personal_access_tokens as tokens_repository
from app.repositories import posts as posts_repository
from app.repositories import webhooks as webhooks_repository
from app.schemas.exports import AccountExport
from app.schemas.personal_access_tokens import PersonalAccessTokenRead
from app.schemas.posts import PostRead
from app.schemas.users import UserRead
from app.schemas.webhooks import WebhookRead


async def export(session: AsyncSession, user: User) -> AccountExport:
    # Sequential on purpose: one session runs one statement at a time.
    posts = await posts_repository.list_by_author(session, user.id)
    webhooks = await webhooks_repository.list_by_owner(session, user.id)
    tokens = await tokens_repository.list_by_owner(session, user.id)
    return AccountExport(
        exported_at=datetime.now(UTC),
        account=UserRead.model_validate(user),
        posts=[PostRead.model_validate(post) for post in posts],
        webhooks=[WebhookRead.model_validate(webhook) for webhook in webhooks],
        personal_access_tokens=[PersonalAccessTokenRead.model_validate(token) for token in tokens],
    )
