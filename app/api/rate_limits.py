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
from app.api.security import CurrentUser
from app.core.config import Rate, Settings
from app.core.errors import RateLimited
from app.core.rate_limit import hit
from app.resources import Resources
from app.schemas.account import PasswordResetRequest

logger = structlog.get_logger(__name__)

RateOf = Callable[[Settings], Rate]


def client_address(request: Request) -> str:
    # Behind a proxy, run uvicorn with --proxy-headers so this is the real client.
    return request.client.host if request.client else "unknown"


async def _enforce(resources: Resources, settings: Settings, *, scope: str, key: str, rate_of: RateOf) -> None:
    if not settings.rate_limit.enabled:
        return
    try:
        decision = await hit(resources.redis, scope=scope, key=key, rate=rate_of(settings))
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


async def limit_token_per_account(
    resources: ResourcesDep, settings: SettingsDep, username: Annotated[str, Form(max_length=320)]
) -> None:
    """Caps guesses against one account, however many addresses they come from."""
    await _enforce(
        resources,
        settings,
        scope="token-account",
        key=username.strip().lower(),
        rate_of=lambda settings: settings.rate_limit.token_per_account,
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
TokenAccountRateLimit = Depends(limit_token_per_account)
VerifyEmailAccountRateLimit = Depends(limit_verify_email_per_account)
PasswordResetRateLimit = Depends(
    limit_per_client("password-reset", lambda settings: settings.rate_limit.password_reset)
)
PasswordResetEmailRateLimit = Depends(limit_password_reset_per_email)
