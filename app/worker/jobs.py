"""The job functions Arq runs. Each is thin: it names its payload and hands the work to a service.

`traceparent` is the relay's span: the job continues the trace of the request that recorded it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.schemas.jobs import (
    DeliverWebhook,
    DispatchEvent,
    JobName,
    PasswordChangedEmail,
    PasswordResetEmail,
    VerificationEmail,
    WelcomeEmail,
)
from app.services import notifications as notifications_service
from app.services import webhook_delivery as webhook_delivery_service
from app.worker import runner
from app.worker.context import WorkerContext


async def _welcome(context: WorkerContext, session: AsyncSession, payload: WelcomeEmail) -> None:
    await notifications_service.send_welcome_email(session, context.mailer, context.settings, payload)


async def send_welcome_email(ctx: dict[str, Any], outbox_id: str, traceparent: str | None = None) -> str:
    return await runner.run(ctx, JobName.SEND_WELCOME_EMAIL, outbox_id, _welcome, traceparent=traceparent)


async def _fan_out(context: WorkerContext, session: AsyncSession, payload: DispatchEvent) -> None:
    await webhook_delivery_service.fan_out(
        session, context.resources.http, context.resolver, context.settings.webhooks, payload
    )


async def dispatch_event(ctx: dict[str, Any], outbox_id: str, traceparent: str | None = None) -> str:
    return await runner.run(ctx, JobName.DISPATCH_EVENT, outbox_id, _fan_out, traceparent=traceparent)


async def _retry_delivery(context: WorkerContext, session: AsyncSession, payload: DeliverWebhook) -> None:
    await webhook_delivery_service.retry(
        session, context.resources.http, context.resolver, context.settings.webhooks, payload
    )


async def deliver_webhook(ctx: dict[str, Any], outbox_id: str, traceparent: str | None = None) -> str:
    return await runner.run(ctx, JobName.DELIVER_WEBHOOK, outbox_id, _retry_delivery, traceparent=traceparent)


async def _verification(context: WorkerContext, session: AsyncSession, payload: VerificationEmail) -> None:
    await notifications_service.send_verification_email(session, context.mailer, context.settings, payload)


async def send_verification_email(ctx: dict[str, Any], outbox_id: str, traceparent: str | None = None) -> str:
    return await runner.run(ctx, JobName.SEND_VERIFICATION_EMAIL, outbox_id, _verification, traceparent=traceparent)


async def _password_reset(context: WorkerContext, session: AsyncSession, payload: PasswordResetEmail) -> None:
    await notifications_service.send_password_reset_email(session, context.mailer, context.settings, payload)


async def send_password_reset_email(ctx: dict[str, Any], outbox_id: str, traceparent: str | None = None) -> str:
    return await runner.run(ctx, JobName.SEND_PASSWORD_RESET_EMAIL, outbox_id, _password_reset, traceparent=traceparent)


async def _password_changed(context: WorkerContext, session: AsyncSession, payload: PasswordChangedEmail) -> None:
    await notifications_service.send_password_changed_email(session, context.mailer, context.settings, payload)


async def send_password_changed_email(ctx: dict[str, Any], outbox_id: str, traceparent: str | None = None) -> str:
    return await runner.run(
        ctx, JobName.SEND_PASSWORD_CHANGED_EMAIL, outbox_id, _password_changed, traceparent=traceparent
    )
