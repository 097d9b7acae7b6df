"""SQL for posts. Functions take the session first and return ORM rows; they flush, never commit."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, bindparam, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.post import Post
from app.repositories.keyset import escape_like, fetch_page
from app.schemas.page import KeysetCursor, KeysetPage
from app.schemas.posts import PostStatus

# Rendered into the SQL text, not sent as a parameter: PostgreSQL uses the partial index
# `ix_post_published_created_at_id` only when it can see that the query implies its predicate.
_IS_PUBLISHED = Post.status == literal(PostStatus.PUBLISHED.value, literal_execute=True)


# Built once, at import, like `users._BY_ID`: the by-id read is one of the hottest statements.
_BY_ID = select(Post).where(Post.id == bindparam("post_id"))


async def get(session: AsyncSession, post_id: uuid.UUID) -> Post | None:
    return await session.scalar(_BY_ID, {"post_id": post_id})


async def get_for_update(session: AsyncSession, post_id: uuid.UUID, author_id: uuid.UUID) -> Post | None:
    """`author_id`'s post, its row locked until the transaction ends (SELECT … FOR UPDATE).

    A second writer of the same post waits here until the first commits, then reads what it
    wrote: concurrent changes to one post happen one after the other, never on the same old copy.
    `populate_existing` makes a copy already in the session take the locked row's values.
    """
    statement = (
        select(Post)
        .where(Post.id == post_id, Post.author_id == author_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(statement)


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


async def count_by_author(session: AsyncSession, author_id: uuid.UUID) -> int:
    return int(await session.scalar(select(func.count()).select_from(Post).where(Post.author_id == author_id)) or 0)


async def list_by_author(
    session: AsyncSession, author_id: uuid.UUID, *, after: KeysetCursor | None, limit: int
) -> list[Post]:
    """One author's posts, drafts included, oldest first: the `limit` after `after` (a keyset batch)."""
    statement = select(Post).where(Post.author_id == author_id)
    if after is not None:
        statement = statement.where(tuple_(Post.created_at, Post.id) > tuple_(after.created_at, after.id))
    # Walks ix_post_author_id_created_at_id: each batch costs the same, however deep.
    return list(await session.scalars(statement.order_by(Post.created_at, Post.id).limit(limit)))
