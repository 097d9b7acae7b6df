"""A personal access token: a long-lived bearer credential a user makes for scripts, stored only as its hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin


class PersonalAccessToken(TimestampMixin, Base):
    __tablename__ = "personal_access_token"
    __table_args__ = (Index("ix_personal_access_token_user_id_created_at_id", "user_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Granted at creation, never more than the owner held then; used intersected with what the owner holds now.
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Written at most once a minute, after the response, outside the request's transaction.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
