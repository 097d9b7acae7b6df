"""Emitting domain events: each one becomes a durable job that fans out to webhook subscribers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.outbox import JobOutbox
from app.schemas.events import EventType
from app.schemas.jobs import DispatchEvent, JobName
from app.services import outbox as outbox_service


async def emit(session: AsyncSession, event: EventType, data: Mapping[str, Any]) -> JobOutbox:
    """Record `event` in the caller's transaction; it is dispatched only if that transaction commits."""
    return await outbox_service.enqueue(session, JobName.DISPATCH_EVENT, DispatchEvent(event=event, data=dict(data)))
