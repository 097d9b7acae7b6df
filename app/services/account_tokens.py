"""One-time tokens sent by e-mail: issued by the worker when it writes the e-mail, consumed once by a request.

The plain token exists only in the e-mail: the worker creates it while building the
message and stores its digest in the same transaction as the job's "processed" mark.
It is never in the outbox, a log line or the database. A job that runs twice sends a
second, equally valid link; a send that fails rolls the token back with the job.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidAccountToken
from app.core.tokens import TokenPurpose, digest, new_secret
from app.models.account_token import AccountToken
from app.models.user import User
from app.repositories import account_tokens as account_tokens_repository
from app.repositories import users as users_repository


async def issue(session: AsyncSession, user: User, purpose: TokenPurpose, ttl: timedelta) -> str:
    """A new token for `user`, bound to the purpose, the address it goes to and the credentials version."""
    value = new_secret()
    await account_tokens_repository.add(
        session,
        AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=digest(value),
            credentials_version=user.credentials_version,
            email=user.email,
            expires_at=datetime.now(UTC) + ttl,
        ),
    )
    return value


async def consume(session: AsyncSession, value: str, purpose: TokenPurpose) -> User:
    """The account a valid token belongs to, with the token spent; `InvalidAccountToken` for any other token.

    Spent and checked in the caller's transaction: if the caller's work fails, the token is not spent.
    """
    stored = await account_tokens_repository.consume(
        session, token_hash=digest(value), purpose=purpose, now=datetime.now(UTC)
    )
    if stored is None:
        raise InvalidAccountToken
    user = await users_repository.get(session, stored.user_id)
    if (
        user is None
        or not user.is_active
        # A password change since the token was issued (a reset, a deactivation) kills it.
        or user.credentials_version != stored.credentials_version
        # The address changed since the link was sent: it proves nothing about the new one.
        or user.email.lower() != stored.email.lower()
    ):
        raise InvalidAccountToken
    return user
