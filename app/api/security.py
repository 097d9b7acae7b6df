"""Authentication and authorization as dependencies (DEP-1, DEP-3, DEP-4).

`CurrentUser` resolves the bearer token to a live account; `OptionalUser` does the
same where a token is optional; `require_scope(...)` adds a scope check, usable on
one route or a whole router. The `Authorization` header is read by FastAPI's
`OAuth2PasswordBearer`, never by hand, which also makes Swagger's Authorize
dialog work.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Security
from fastapi.params import Security as SecurityParam
from fastapi.security import OAuth2PasswordBearer, SecurityScopes

from app.api.deps import DbSession, SettingsDep
from app.core.errors import AuthenticationFailed, InsufficientScope
from app.core.scopes import SCOPE_DESCRIPTIONS, Scope
from app.models.user import User
from app.services import auth as auth_service

TOKEN_URL = "/v1/auth/token"  # noqa: S105 - a path, not a secret

# auto_error=False: a missing token must get the same Problem Details as a bad one.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, scopes=SCOPE_DESCRIPTIONS, auto_error=False)


async def get_principal(
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    session: DbSession,
    settings: SettingsDep,
) -> auth_service.Principal:
    if not token:
        raise AuthenticationFailed
    principal = await auth_service.resolve(session, token, settings)
    structlog.contextvars.bind_contextvars(user_id=str(principal.user.id))
    missing = set(security_scopes.scopes) - principal.scopes
    if missing:
        raise InsufficientScope(missing)
    return principal


async def get_current_user(principal: Annotated[auth_service.Principal, Security(get_principal)]) -> User:
    return principal.user


async def get_optional_user(
    token: Annotated[str | None, Depends(oauth2_scheme)], session: DbSession, settings: SettingsDep
) -> User | None:
    """The caller on routes open to everyone: None without a token, but a bad token is the usual 401.

    Treating a bad token as anonymous would hide an expired session behind a page that quietly shows less.
    """
    if not token:
        return None
    principal = await get_principal(SecurityScopes(), token, session, settings)
    return principal.user


def require_scope(*scopes: Scope) -> SecurityParam:
    """A dependency that lets the request through only when the token carries every scope named."""
    dependency: SecurityParam = Security(get_principal, scopes=list(scopes))
    return dependency


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
