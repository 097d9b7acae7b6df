"""A remembered response to a request that carried an `Idempotency-Key` header.

Written in the same transaction as the request's effect, so the two are committed together or
not at all: a retry finds either both (and gets this response back) or neither (and runs anew).
docs/decisions/0041-idempotency-keys.md explains the design.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, SmallInteger, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    __table_args__ = (
        # A key means something only to the caller who chose it: two callers may pick the same one.
        UniqueConstraint("scope", "key"),
        # The upkeep cron deletes expired rows.
        Index("ix_idempotency_key_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Who chose the key: `user:<id>` for a signed-in caller, `address:<ip>` for an anonymous one.
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, the path and the canonical JSON body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    # The response headers worth replaying (Content-Type, Location, ETag), by lower-case name.
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
