"""A job recorded in the same transaction as the change that causes it (the transactional outbox).

The worker's relay hands due rows to the queue; the job marks its row processed
in the same transaction as its effect. A job is therefore never lost (the row
survives Redis outages and crashes) and never applied twice (the row says so).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin


class JobOutbox(TimestampMixin, Base):
    __tablename__ = "job_outbox"
    __table_args__ = (
        # The relay's query: undispatched, unprocessed rows that are due, oldest first.
        Index(
            "ix_job_outbox_due",
            "available_at",
            postgresql_where=text("dispatched_at IS NULL AND processed_at IS NULL"),
        ),
        # The reconciler's query: dispatched long ago, never processed.
        Index(
            "ix_job_outbox_in_flight",
            "dispatched_at",
            postgresql_where=text("dispatched_at IS NOT NULL AND processed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job_name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(128))
    # The W3C trace context of the request that recorded the row: the job continues its trace.
    traceparent: Mapped[str | None] = mapped_column(String(55))
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatch_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
