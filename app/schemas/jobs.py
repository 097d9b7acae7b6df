"""What the API asks the worker to do: job names and their payloads (JOB-5).

Services record these in the outbox; the worker validates them back into the
same models. No ad-hoc JSON crosses the queue.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.events import EventType


class JobName(StrEnum):
    SEND_WELCOME_EMAIL = "send_welcome_email"
    DISPATCH_EVENT = "dispatch_event"
    DELIVER_WEBHOOK = "deliver_webhook"
    SEND_VERIFICATION_EMAIL = "send_verification_email"
    SEND_PASSWORD_RESET_EMAIL = "send_password_reset_email"  # noqa: S105 - a job name, not a secret
    SEND_PASSWORD_CHANGED_EMAIL = "send_password_changed_email"  # noqa: S105 - a job name, not a secret


class JobPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WelcomeEmail(JobPayload):
    user_id: uuid.UUID


class DispatchEvent(JobPayload):
    # Fixed when the event is emitted: deliveries derive their ids (the `webhook-id`) from it,
    # so a fan-out that runs again after a crash sends the same ids again.
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    event: EventType
    data: dict[str, Any]


class DeliverWebhook(JobPayload):
    delivery_id: uuid.UUID


class VerificationEmail(JobPayload):
    # The address to verify: if it changed again before the job ran, the job sends nothing.
    user_id: uuid.UUID
    email: str


class PasswordResetEmail(JobPayload):
    # Recorded for every request, whether or not an account uses the address: the job decides.
    email: str


class PasswordChangedEmail(JobPayload):
    user_id: uuid.UUID


PAYLOADS: dict[JobName, type[JobPayload]] = {
    JobName.SEND_WELCOME_EMAIL: WelcomeEmail,
    JobName.DISPATCH_EVENT: DispatchEvent,
    JobName.DELIVER_WEBHOOK: DeliverWebhook,
    JobName.SEND_VERIFICATION_EMAIL: VerificationEmail,
    JobName.SEND_PASSWORD_RESET_EMAIL: PasswordResetEmail,
    JobName.SEND_PASSWORD_CHANGED_EMAIL: PasswordChangedEmail,
}
