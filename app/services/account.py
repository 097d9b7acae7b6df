"""E-mail verification and password reset: the request side of the one-time-token flows.

Requests record the e-mail in the outbox; the worker makes the token and sends it
(`app/services/notifications.py`). Following a link spends its token here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import AuthSettings
from app.core.errors import EmailAlreadyVerified
from app.core.security import hash_password
from app.core.tokens import TokenPurpose
from app.models.user import User
from app.repositories import users as users_repository
from app.schemas.jobs import JobName, PasswordResetEmail
from app.services import account_tokens as account_tokens_service
from app.services import outbox as outbox_service
from app.services import users as users_service


async def request_verification(session: AsyncSession, user: User) -> None:
    if user.email_verified:
        raise EmailAlreadyVerified
    await users_service.send_verification(session, user)


async def verify_email(session: AsyncSession, token: str) -> User:
    user = await account_tokens_service.consume(session, token, TokenPurpose.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
    return await users_repository.save(session, user)


async def request_password_reset(session: AsyncSession, email: str) -> None:
    """Record a reset e-mail for the address, whether or not an account uses it.

    The request does the same work either way (one outbox row) and so answers in the same
    time; the worker looks the address up and writes only to an active account.
    """
    await outbox_service.enqueue(session, JobName.SEND_PASSWORD_RESET_EMAIL, PasswordResetEmail(email=email))


async def reset_password(session: AsyncSession, token: str, new_password: str, settings: AuthSettings) -> User:
    user = await account_tokens_service.consume(session, token, TokenPurpose.RESET_PASSWORD)
    user.password_hash = await hash_password(new_password, settings)
    if user.email_verified_at is None:
        # The link reached the inbox: that proves the address as well as a verification link does.
        user.email_verified_at = datetime.now(UTC)
    await users_service.revoke_credentials(session, user)
    await users_service.notify_password_changed(session, user)
    return await users_repository.save(session, user)
