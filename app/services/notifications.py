"""Messages to people: the welcome e-mail."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.mail import Mailer, render
from app.repositories import users as users_repository
from app.schemas.jobs import WelcomeEmail

logger = structlog.get_logger(__name__)


async def send_welcome_email(session: AsyncSession, mailer: Mailer, payload: WelcomeEmail) -> None:
    user = await users_repository.get(session, payload.user_id)
    if user is None or not user.is_active:
        # Gone before the job ran: nothing to welcome, and nothing to retry.
        logger.info("welcome e-mail skipped", user_id=str(payload.user_id))
        return
    message = render("welcome", to=user.email, subject="Welcome!", name=user.name, email=user.email)
    await mailer.send(message)
    logger.info("welcome e-mail sent", user_id=str(user.id))
