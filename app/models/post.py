"""A post: text a user writes, seen only by its author until it is published."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, VersionedMixin


class Post(VersionedMixin, TimestampMixin, Base):
    __tablename__ = "post"
    __table_args__ = (
        # The values of `app.schemas.posts.PostStatus` (models cannot import schemas: they are sibling layers).
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        # The public list: published posts only, newest first, a keyset page at a time.
        Index("ix_post_published_created_at_id", "created_at", "id", postgresql_where=text("status = 'published'")),
        # One author's posts: the list filtered by `author_id`, and the author's export.
        Index("ix_post_author_id_created_at_id", "author_id", "created_at", "id"),
        # Search: `ILIKE '%words%'` on title or body. Trigram GIN indexes (pg_trgm) serve a pattern with
        # a leading wildcard, which a B-tree cannot; partial, like the list they serve.
        *(
            Index(
                f"ix_post_{column}_trgm",
                column,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
                postgresql_where=text("status = 'published'"),
            )
            for column in ("title", "body")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    # A string checked by the constraint above rather than a native ENUM type: adding a status
    # later is a constraint swap in a migration, with no ALTER TYPE and no type to drop.
    status: Mapped[str] = mapped_column(String(16))
    # When the post last became published; null while it is a draft.
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
