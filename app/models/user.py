"""A person who can sign in."""

from __future__ import annotations

import uuid

from sqlalchemy import ARRAY, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, VersionedMixin


class User(VersionedMixin, TimestampMixin, Base):
    __tablename__ = "user"
    __table_args__ = (
        # E-mail addresses are unique whatever their case; lookups use the same expression.
        Index("uq_user_email_lower", func.lower(text("email")), unique=True),
        Index("ix_user_created_at_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default=text("'{}'"))
    # Bumped by a password change or deactivation: every token issued before stops working.
    credentials_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
