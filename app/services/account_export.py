"""The caller's own data in one document: what a person may ask a service to hand over."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.post import Post
from app.models.user import User
from app.repositories import personal_access_tokens as tokens_repository
from app.repositories import posts as posts_repository
from app.repositories import webhooks as webhooks_repository
from app.schemas.exports import AccountExport
from app.schemas.page import KeysetCursor
from app.schemas.personal_access_tokens import PersonalAccessTokenRead
from app.schemas.posts import PostRead
from app.schemas.users import UserRead
from app.schemas.webhooks import WebhookRead

# Posts are read in keyset batches, each query as cheap as the first however many there are.
POSTS_BATCH_SIZE = 500


async def export(session: AsyncSession, user: User) -> AccountExport:
    # Sequential on purpose: one session runs one statement at a time.
    posts = await _every_post(session, user)
    webhooks = await webhooks_repository.list_by_owner(session, user.id)
    tokens = await tokens_repository.list_by_owner(session, user.id)
    return AccountExport(
        exported_at=datetime.now(UTC),
        account=UserRead.model_validate(user),
        posts=[PostRead.model_validate(post) for post in posts],
        webhooks=[WebhookRead.model_validate(webhook) for webhook in webhooks],
        personal_access_tokens=[PersonalAccessTokenRead.model_validate(token) for token in tokens],
    )


async def _every_post(session: AsyncSession, user: User) -> list[Post]:
    posts: list[Post] = []
    after: KeysetCursor | None = None
    while batch := await posts_repository.list_by_author(session, user.id, after=after, limit=POSTS_BATCH_SIZE):
        posts.extend(batch)
        if len(batch) < POSTS_BATCH_SIZE:
            break
        after = KeysetCursor(batch[-1].created_at, batch[-1].id)
    return posts
