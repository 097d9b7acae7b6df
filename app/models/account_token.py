"""A one-time token sent by e-mail (verify an address, reset a password), stored only as its hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin


class AccountToken(TimestampMixin, Base):
    __tablename__ = "account_token"
    __table_args__ = (
        # The values of `app.core.tokens.TokenPurpose`.
        CheckConstraint("purpose IN ('verify_email', 'reset_password')", name="purpose"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The account's credentials version when the token was issued: a password change kills the link.
    credentials_version: Mapped[int]
    # The address the link was sent to: a verification link proves that address and no other.
    email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
