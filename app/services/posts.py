"""Business rules for posts: who sees and changes what, and publishing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.models.post import Post
from app.models.user import User
from app.repositories import posts as posts_repository
from app.schemas.events import EventType
from app.schemas.page import KeysetCursor, KeysetPage
from app.schemas.posts import PostCreate, PostListQuery, PostRead, PostStatus, PostUpdate
from app.services import events as events_service

# One answer for "no such post", "someone else's draft" and "not yours": existence is not revealed.
_NOT_FOUND = "No post with this id."

logger = structlog.get_logger(__name__)


async def create(session: AsyncSession, author: User, data: PostCreate) -> Post:
    post = Post(author_id=author.id, title=data.title, body=data.body)
    published = _move_to(post, data.status)
    post = await posts_repository.add(session, post)
    if published:
        await _announce_published(session, post)
    return post


async def get_visible(session: AsyncSession, post_id: uuid.UUID, viewer: User | None) -> Post:
    """The post, if `viewer` may see it: a published post to anyone, a draft to its author only."""
    post = await posts_repository.get(session, post_id)
    if post is None or (post.status != PostStatus.PUBLISHED and not _is_author(post, viewer)):
        raise NotFound(_NOT_FOUND)
    return post


async def get_own_for_update(session: AsyncSession, post_id: uuid.UUID, user: User) -> Post:
    """The post for a change by `user`, locked against other writers until the transaction ends.

    Someone else's post is the same 404 as a missing one (docs/decisions/0005).
    """
    post = await posts_repository.get_for_update(session, post_id, user.id)
    if post is None:
        raise NotFound(_NOT_FOUND)
    return post


async def list_published(session: AsyncSession, query: PostListQuery) -> KeysetPage[Post]:
    return await posts_repository.list_published_page(
        session, author_id=query.author_id, q=query.q, after=query.cursor, limit=query.limit
    )


async def update(session: AsyncSession, post: Post, data: PostUpdate) -> Post:
    if data.title is not None:
        post.title = data.title
    if data.body is not None:
        post.body = data.body
    published = data.status is not None and _move_to(post, data.status)
    post = await posts_repository.save(session, post)
    if published:
        await _announce_published(session, post)
    return post


async def delete(session: AsyncSession, post: Post) -> None:
    await posts_repository.delete(session, post)


async def count_for_export(session: AsyncSession, author: User) -> int:
    return await posts_repository.count_by_author(session, author.id)


async def list_for_export(
    session: AsyncSession, author_id: uuid.UUID, *, after: KeysetCursor | None, limit: int
) -> list[PostRead]:
    """The next batch of what `author_id` wrote, drafts included, oldest first, as plain data."""
    posts = await posts_repository.list_by_author(session, author_id, after=after, limit=limit)
    return [PostRead.model_validate(post) for post in posts]


def _is_author(post: Post, user: User | None) -> bool:
    return user is not None and post.author_id == user.id


def _move_to(post: Post, status: PostStatus) -> bool:
    """Set the status; True when the post has just become published (a new post, or a draft published)."""
    if post.status == status:
        return False
    post.status = status
    # Back to draft clears the date, so publishing again dates the post anew.
    post.published_at = datetime.now(UTC) if status is PostStatus.PUBLISHED else None
    return status is PostStatus.PUBLISHED


async def _announce_published(session: AsyncSession, post: Post) -> None:
    # Same transaction as the change: the event is dispatched only if the post is saved.
    await events_service.emit(session, EventType.POST_PUBLISHED, PostRead.model_validate(post).model_dump(mode="json"))
