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
from app.core.config import Rate, Settings
from app.core.errors import RateLimited
from app.core.rate_limit import hit
from app.resources import Resources
from app.schemas.auth import TokenRequest

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
    resources: ResourcesDep, settings: SettingsDep, form: Annotated[TokenRequest, Form()]
) -> None:
    """Caps password guesses against one account, however many addresses they come from."""
    if form.username is None:  # a refresh grant: the token itself is the secret, and it works once
        return
    await _enforce(
        resources,
        settings,
        scope="token-account",
        key=form.username.strip().lower(),
        rate_of=lambda settings: settings.rate_limit.token_per_account,
    )


SignupRateLimit = Depends(limit_per_client("signup", lambda settings: settings.rate_limit.signup))
TokenRateLimit = Depends(limit_per_client("token", lambda settings: settings.rate_limit.token))
TokenAccountRateLimit = Depends(limit_token_per_account)
