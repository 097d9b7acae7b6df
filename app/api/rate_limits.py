"""Rate limits as dependencies, counted in Redis so every process shares one budget (DEP-9).

When Redis cannot be reached the request is let through and a warning is
logged: availability first, as proxies such as Envoy do by default. An attacker
who can take Redis down has bigger levers than our limits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import redis.exceptions
import structlog
from fastapi import Depends, Form, Request

from app.api.deps import ResourcesDep, SettingsDep
from app.api.security import CurrentUser, OptionalUser
from app.core.config import Rate, Settings
from app.core.errors import RateLimited
from app.core.rate_limit import hit
from app.resources import Resources
from app.schemas.account import PasswordResetRequest
from app.schemas.auth import TokenRequest
from app.schemas.users import UserSelfUpdate

logger = structlog.get_logger(__name__)

RateOf = Callable[[Settings], Rate]


def client_address(request: Request) -> str:
    # The peer, or the client a trusted proxy names (APP_FORWARDED_ALLOW_IPS); never a header anyone can send.
    return request.client.host if request.client else "unknown"


async def _enforce(resources: Resources, settings: Settings, *, scope: str, key: str, rate_of: RateOf) -> None:
    if not settings.rate_limit.enabled:
        return
    try:
        decision = await hit(
            resources.redis, prefix=settings.redis_key_prefix, scope=scope, key=key, rate=rate_of(settings)
        )
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        logger.warning("rate limiter unavailable; request allowed", scope=scope, error=repr(exc))
        return
    if not decision.allowed:
        raise RateLimited(retry_after_seconds=decision.retry_after_seconds)


def limit_per_client(scope: str, rate_of: RateOf) -> Callable[..., Awaitable[None]]:
    async def dependency(request: Request, resources: ResourcesDep, settings: SettingsDep) -> None:
        await _enforce(resources, settings, scope=scope, key=client_address(request), rate_of=rate_of)

    dependency.__name__ = f"limit_{scope}_per_client"
    return dependency


async def _limit_password_guesses(request: Request, resources: Resources, settings: Settings, account: str) -> None:
    """Caps password guesses against one account: per (account, address) pair, then a looser ceiling.

    The pair limit stops one address guessing; the account ceiling stops many addresses
    guessing together. Someone else's wrong attempts use up only their own pair's budget,
    so a handful of them cannot lock the owner out; only the ceiling can.
    """
    account = account.strip().lower()
    await _enforce(
        resources,
        settings,
        scope="password-account-address",
        key=f"{account}|{client_address(request)}",
        rate_of=lambda settings: settings.rate_limit.token_per_account_address,
    )
    await _enforce(
        resources,
        settings,
        scope="password-account",
        key=account,
        rate_of=lambda settings: settings.rate_limit.token_per_account,
    )


# The two dependencies below read the form or body the endpoint needs and hand it on, so it is
# parsed and validated once: the endpoint takes it from them (`TokenForm`, `SelfUpdateBody`).


async def limit_token_per_account(
    request: Request, resources: ResourcesDep, settings: SettingsDep, form: Annotated[TokenRequest, Form()]
) -> TokenRequest:
    """Password guesses at the token endpoint, counted against the account named in the form.

    A refresh grant names no account: its token is the secret, and it works once.
    """
    if form.username is not None:
        await _limit_password_guesses(request, resources, settings, form.username)
    return form


async def limit_current_password_checks(
    request: Request, resources: ResourcesDep, settings: SettingsDep, body: UserSelfUpdate, user: CurrentUser
) -> UserSelfUpdate:
    """A `current_password` is a password guess too: it shares the account's budget with sign-ins."""
    if body.current_password is not None:
        await _limit_password_guesses(request, resources, settings, user.email)
    return body


async def limit_anonymous_reads(
    request: Request, resources: ResourcesDep, settings: SettingsDep, viewer: OptionalUser
) -> None:
    """Reads without a token are counted per address; signed-in callers are not limited here."""
    if viewer is None:
        await _enforce(
            resources,
            settings,
            scope="anonymous-read",
            key=client_address(request),
            rate_of=lambda settings: settings.rate_limit.anonymous_read,
        )


async def limit_verify_email_per_account(user: CurrentUser, resources: ResourcesDep, settings: SettingsDep) -> None:
    """Caps verification e-mails one account can have sent, so the endpoint cannot be used to flood an inbox."""
    await _enforce(
        resources,
        settings,
        scope="verify-email-account",
        key=str(user.id),
        rate_of=lambda settings: settings.rate_limit.verify_email_per_account,
    )


async def limit_password_reset_per_email(
    resources: ResourcesDep, settings: SettingsDep, body: PasswordResetRequest
) -> None:
    """Caps reset e-mails to one address, however many clients ask for them."""
    await _enforce(
        resources,
        settings,
        scope="password-reset-email",
        key=body.email.strip().lower(),
        rate_of=lambda settings: settings.rate_limit.password_reset_per_email,
    )


SignupRateLimit = Depends(limit_per_client("signup", lambda settings: settings.rate_limit.signup))
TokenRateLimit = Depends(limit_per_client("token", lambda settings: settings.rate_limit.token))
TokenForm = Annotated[TokenRequest, Depends(limit_token_per_account)]
SelfUpdateBody = Annotated[UserSelfUpdate, Depends(limit_current_password_checks)]
AnonymousReadRateLimit = Depends(limit_anonymous_reads)
VerifyEmailAccountRateLimit = Depends(limit_verify_email_per_account)
PasswordResetRateLimit = Depends(
    limit_per_client("password-reset", lambda settings: settings.rate_limit.password_reset)
)
PasswordResetEmailRateLimit = Depends(limit_password_reset_per_email)
