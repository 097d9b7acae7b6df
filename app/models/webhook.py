"""Webhook subscriptions and the deliveries made to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin


class Webhook(TimestampMixin, Base):
    __tablename__ = "webhook"
    __table_args__ = (Index("ix_webhook_user_id_created_at_id", "user_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    description: Mapped[str | None] = mapped_column(String(500))
    # Kept (not hashed) because every delivery is signed with it; it leaves the API once, at creation.
    secret: Mapped[str] = mapped_column(String(100))


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(TimestampMixin, Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_webhook_id_created_at_id", "webhook_id", "created_at", "id"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
    )

    # Also the `webhook-id` header: the same on every attempt, so receivers can drop repeats.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    response_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
