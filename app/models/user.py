"""A person who can sign in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin, VersionedMixin


class User(VersionedMixin, TimestampMixin, Base):
    __tablename__ = "user"
    __table_args__ = (
        # E-mail addresses are unique whatever their case; lookups use the same expression.
        Index("uq_user_email_lower", func.lower(text("email")), unique=True),
        Index("ix_user_created_at_id", "created_at", "id"),
        # The erasure cron's query: accounts whose grace period has run out.
        Index("ix_user_erasure_due_at", "erasure_due_at", postgresql_where=text("erasure_due_at IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default=text("'{}'"))
    # Bumped by a password change or deactivation: every token issued before stops working.
    credentials_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    # Set when the owner follows a verification link; cleared when the address changes.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the owner deletes the account: the erasure cron removes it after this moment.
    erasure_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None
