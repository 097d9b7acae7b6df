"""Events the service emits, shared by the API, the outbox and webhook deliveries (JOB-5)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    POST_PUBLISHED = "post.published"
