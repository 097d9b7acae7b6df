"""SQL for posts. Functions take the session first and return ORM rows; they flush, never commit."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.post import Post
from app.repositories.keyset import escape_like, fetch_page
from app.schemas.page import KeysetCursor, KeysetPage
from app.schemas.posts import PostStatus

# Rendered into the SQL text, not sent as a parameter: PostgreSQL uses the partial index
# `ix_post_published_created_at_id` only when it can see that the query implies its predicate.
_IS_PUBLISHED = Post.status == literal(PostStatus.PUBLISHED.value, literal_execute=True)


async def get(session: AsyncSession, post_id: uuid.UUID) -> Post | None:
    return await session.get(Post, post_id)


async def add(session: AsyncSession, post: Post) -> Post:
    session.add(post)
    await session.flush()
    await session.refresh(post)  # load server-side defaults (timestamps)
    return post


async def save(session: AsyncSession, post: Post) -> Post:
    await session.flush()
    await session.refresh(post)  # updated_at is set by the database
    return post


async def delete(session: AsyncSession, post: Post) -> None:
    await session.delete(post)
    await session.flush()


def published(*, author_id: uuid.UUID | None = None, q: str | None = None) -> Select[Post]:
    """Published posts, optionally one author's, optionally matching `q` (served by the trigram indexes)."""
    statement = select(Post).where(_IS_PUBLISHED)
    if author_id is not None:
        statement = statement.where(Post.author_id == author_id)
    if q:
        pattern = f"%{escape_like(q)}%"
        statement = statement.where(or_(Post.title.ilike(pattern), Post.body.ilike(pattern)))
    return statement


async def list_published_page(
    session: AsyncSession, *, author_id: uuid.UUID | None, q: str | None, after: KeysetCursor | None, limit: int
) -> KeysetPage[Post]:
    statement = published(author_id=author_id, q=q)
    return await fetch_page(
        session, statement, created_at=Post.created_at, id_=Post.id, after=after, limit=limit, newest_first=True
    )


async def list_by_author(session: AsyncSession, author_id: uuid.UUID) -> list[Post]:
    """Every post of one author, drafts included, oldest first."""
    statement = select(Post).where(Post.author_id == author_id).order_by(Post.created_at, Post.id)
    return list(await session.scalars(statement))
