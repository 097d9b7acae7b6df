"""Webhook schemas: the secret appears in exactly one of them, the creation response (SCH-1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, Field, field_validator

from app.schemas.base import Lax, ReadSchema, RequestSchema, UtcDatetime
from app.schemas.events import EventType

EventName = Annotated[EventType, Lax]


class WebhookBase(BaseModel):
    events: Annotated[list[EventName], Field(min_length=1, max_length=20)]
    description: Annotated[str, Field(max_length=500)] | None = None


class WebhookCreate(RequestSchema, WebhookBase):
    url: Annotated[AnyHttpUrl, Lax, Field(max_length=2048)]

    @field_validator("events")
    @classmethod
    def _each_event_once(cls, events: list[EventType]) -> list[EventType]:
        return sorted(set(events))


class WebhookRead(ReadSchema, WebhookBase):
    id: uuid.UUID
    url: str
    created_at: UtcDatetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Signs every delivery (Standard Webhooks). Shown only in this response.")


class DeliveryRead(ReadSchema):
    id: uuid.UUID = Field(description="Also the `webhook-id` header of every attempt.")
    event: str
    status: str
    attempts: int
    response_status: int | None
    created_at: UtcDatetime
    delivered_at: UtcDatetime | None
