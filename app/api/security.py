"""Authentication and authorization as dependencies (DEP-1, DEP-3, DEP-4).

`CurrentUser` resolves the bearer token (a JWT or a personal access token) to a live
account; `OptionalUser` does the same where a token is optional; `VerifiedUser` also
asks for a verified e-mail address; `require_scope(...)` adds a scope check, usable on
one route or a whole router. The `Authorization` header is read by FastAPI's
`OAuth2PasswordBearer`, never by hand, which also makes Swagger's Authorize
dialog work.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import BackgroundTasks, Depends, Security
from fastapi.params import Security as SecurityParam
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import DbSession, ResourcesDep, SettingsDep
from app.core.config import Settings
from app.core.errors import AuthenticationFailed, EmailNotVerified, InsufficientScope, PermissionDenied
from app.core.scopes import SCOPE_DESCRIPTIONS, Scope
from app.core.tokens import is_personal_access_token
from app.models.user import User
from app.resources import Resources
from app.services import auth as auth_service
from app.services import personal_access_tokens as personal_access_tokens_service

TOKEN_URL = "/v1/auth/token"  # noqa: S105 - a path, not a secret

# auto_error=False: a missing token must get the same Problem Details as a bad one.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, scopes=SCOPE_DESCRIPTIONS, auto_error=False)


async def get_principal(
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: DbSession,
    settings: SettingsDep,
    *,
    resources: ResourcesDep,
    background_tasks: BackgroundTasks,
) -> auth_service.Principal:
    if not token:
        raise AuthenticationFailed
    principal = await resolve_bearer(token, session, settings, resources, background_tasks)
    structlog.contextvars.bind_contextvars(user_id=str(principal.user.id))
    missing = set(security_scopes.scopes) - principal.scopes
    if missing:
        raise InsufficientScope(missing)
    return principal


async def get_current_user(principal: Annotated[auth_service.Principal, Security(get_principal)]) -> User:
    return principal.user


async def get_optional_user(
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: DbSession,
    settings: SettingsDep,
    resources: ResourcesDep,
    background_tasks: BackgroundTasks,
) -> User | None:
    """The caller on routes open to everyone: None without a token, but a bad token is the usual 401.

    Treating a bad token as anonymous would hide an expired session behind a page that quietly shows less.
    """
    if not token:
        return None
    principal = await get_principal(
        SecurityScopes(), token, session, settings, resources=resources, background_tasks=background_tasks
    )
    return principal.user


async def resolve_bearer(
    token: str, session: AsyncSession, settings: Settings, resources: Resources, background_tasks: BackgroundTasks
) -> auth_service.Principal:
    """A bearer value is a personal access token (it starts with `<service>_pat_`) or a JWT access token.

    A PAT's use is stamped after the response, in a transaction of its own: the request
    itself may be a read that runs without one.
    """
    if not is_personal_access_token(token, settings.app.name):
        return await auth_service.resolve(session, token, settings)
    principal = await personal_access_tokens_service.resolve(session, token)
    if principal.personal_access_token_id is not None:
        background_tasks.add_task(
            personal_access_tokens_service.record_use,
            resources.session_factory,
            resources.redis,
            principal.personal_access_token_id,
        )
    return principal


async def get_signed_in_principal(
    principal: Annotated[auth_service.Principal, Security(get_principal)],
) -> auth_service.Principal:
    """The caller, signed in with a password: a personal access token cannot manage personal access tokens.

    Otherwise a leaked token could mint a successor that outlives its own revocation.
    """
    if principal.personal_access_token_id is not None:
        raise PermissionDenied("Personal access tokens are managed from a signed-in session, not with one.")
    return principal


async def get_verified_user(principal: Annotated[auth_service.Principal, Security(get_principal)]) -> User:
    """The caller, whose e-mail address is verified; 403 `email_not_verified` otherwise."""
    if not principal.user.email_verified:
        raise EmailNotVerified
    return principal.user


def require_scope(*scopes: Scope) -> SecurityParam:
    """A dependency that lets the request through only when the token carries every scope named."""
    dependency: SecurityParam = Security(get_principal, scopes=list(scopes))
    return dependency


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
SignedInPrincipal = Annotated[auth_service.Principal, Depends(get_signed_in_principal)]
VerifiedUser = Annotated[User, Depends(get_verified_user)]
