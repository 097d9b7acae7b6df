"""Messages to people: welcome, address verification, password reset and password changed.

Run by the worker. E-mails that carry a link make its one-time token here, in the job's
transaction (`app/services/account_tokens.py`), so the plain token lives only in the e-mail.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.mail import Mailer, render
from app.core.tokens import TokenPurpose
from app.models.user import User
from app.repositories import users as users_repository
from app.schemas.jobs import PasswordChangedEmail, PasswordResetEmail, VerificationEmail, WelcomeEmail
from app.services import account_tokens as account_tokens_service

logger = structlog.get_logger(__name__)

# Pages of the web front end at APP_PUBLIC_URL; each posts the token to the API.
VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"  # noqa: S105 - a path, not a secret


def link(settings: Settings, path: str, token: str) -> str:
    return f"{str(settings.app.public_url).rstrip('/')}{path}?{urlencode({'token': token})}"


async def send_welcome_email(session: AsyncSession, mailer: Mailer, settings: Settings, payload: WelcomeEmail) -> None:
    user = await users_repository.get(session, payload.user_id)
    if user is None or not user.is_active:
        # Gone before the job ran: nothing to welcome, and nothing to retry.
        logger.info("welcome e-mail skipped", user_id=str(payload.user_id))
        return
    verify_url = await _verification_link(session, user, settings)
    message = render(
        "welcome", to=user.email, subject="Welcome!", name=user.name, email=user.email, verify_url=verify_url
    )
    await mailer.send(message)
    logger.info("welcome e-mail sent", user_id=str(user.id))


async def send_verification_email(
    session: AsyncSession, mailer: Mailer, settings: Settings, payload: VerificationEmail
) -> None:
    user = await users_repository.get(session, payload.user_id)
    if user is None or not user.is_active or user.email != payload.email or user.email_verified:
        # Deleted, deactivated, moved to another address since, or verified already: nothing to prove.
        logger.info("verification e-mail skipped", user_id=str(payload.user_id))
        return
    verify_url = await _verification_link(session, user, settings)
    message = render(
        "verify_email", to=user.email, subject="Verify your e-mail address", name=user.name, verify_url=verify_url
    )
    await mailer.send(message)
    logger.info("verification e-mail sent", user_id=str(user.id))


async def send_password_reset_email(
    session: AsyncSession, mailer: Mailer, settings: Settings, payload: PasswordResetEmail
) -> None:
    user = await users_repository.get_by_email(session, payload.email)
    if user is None or not user.is_active:
        # No account, or a deactivated one: nobody to write to. Nothing in the log names the address.
        logger.info("password reset e-mail skipped: no active account")
        return
    token = await account_tokens_service.issue(
        session, user, TokenPurpose.RESET_PASSWORD, timedelta(seconds=settings.auth.password_reset_ttl_seconds)
    )
    minutes = str(settings.auth.password_reset_ttl_seconds // 60)
    reset_url = link(settings, RESET_PASSWORD_PATH, token)
    message = render(
        "password_reset",
        to=user.email,
        subject="Reset your password",
        name=user.name,
        reset_url=reset_url,
        minutes=minutes,
    )
    await mailer.send(message)
    logger.info("password reset e-mail sent", user_id=str(user.id))


async def send_password_changed_email(
    session: AsyncSession, mailer: Mailer, settings: Settings, payload: PasswordChangedEmail
) -> None:
    user = await users_repository.get(session, payload.user_id)
    if user is None:
        logger.info("password changed e-mail skipped", user_id=str(payload.user_id))
        return
    reset_url = f"{str(settings.app.public_url).rstrip('/')}{RESET_PASSWORD_PATH}"
    message = render(
        "password_changed", to=user.email, subject="Your password was changed", name=user.name, reset_url=reset_url
    )
    await mailer.send(message)
    logger.info("password changed e-mail sent", user_id=str(user.id))


async def _verification_link(session: AsyncSession, user: User, settings: Settings) -> str:
    ttl = timedelta(seconds=settings.auth.email_verification_ttl_seconds)
    token = await account_tokens_service.issue(session, user, TokenPurpose.VERIFY_EMAIL, ttl)
    return link(settings, VERIFY_EMAIL_PATH, token)
