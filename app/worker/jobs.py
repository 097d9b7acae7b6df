"""The job functions Arq runs. Each is thin: it names its payload and hands the work to a service."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.schemas.jobs import JobName, WelcomeEmail
from app.services import notifications as notifications_service
from app.worker import runner
from app.worker.context import WorkerContext


async def _welcome(context: WorkerContext, session: AsyncSession, payload: WelcomeEmail) -> None:
    await notifications_service.send_welcome_email(session, context.mailer, payload)


async def send_welcome_email(ctx: dict[str, Any], outbox_id: str) -> str:
    return await runner.run(ctx, JobName.SEND_WELCOME_EMAIL, outbox_id, _welcome)
