"""Sign-up and the OAuth2 token endpoints."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status

from app.api.deps import DbSession, NoStore, SettingsDep
from app.api.idempotency import IdempotentAnonymous
from app.api.oauth2 import OAuth2TokenRoute, SingleValuedForm
from app.api.problems import problem_responses
from app.api.rate_limits import SignupRateLimit, TokenForm, TokenRateLimit, client_address
from app.api.routing import Route
from app.core.errors import InvalidRequest
from app.schemas.auth import GrantType, RefreshTokenBody, TokenPair, TokenRequest
from app.schemas.users import UserCreate, UserRead
from app.services import audit as audit_service
from app.services import auth as auth_service
from app.services import users as users_service

router = APIRouter(prefix="/auth", tags=["auth"], route_class=Route)
# The token endpoint and its alias: RFC 6749 errors (400 + `error`), never FastAPI's 422.
token_router = APIRouter(prefix="/auth", tags=["auth"], route_class=OAuth2TokenRoute)


@router.post(
    "/signup",
    status_code=status.HTTP_201_CREATED,
    summary="Sign up",
    description="Create an account. The address must not be registered yet; a welcome e-mail follows. "
    "A retry with the same `Idempotency-Key` (scoped to the client address) gets the first response back.",
    responses=problem_responses(409, 422, 429),
    dependencies=[SignupRateLimit, IdempotentAnonymous],
)
async def signup(body: UserCreate, session: DbSession, settings: SettingsDep) -> UserRead:
    user = await users_service.register(session, body, settings.auth)
    return UserRead.model_validate(user)


@token_router.post(
    "/token",
    summary="Get tokens",
    description="The OAuth2 token endpoint (RFC 6749), form-encoded. `grant_type=password`: `username` is the "
    "e-mail, `password` the password. `grant_type=refresh_token`: `refresh_token` is rotated, and presenting a used "
    "one again revokes every token of its sign-in. The optional `scope` narrows the grant; a scope not held is "
    "`invalid_scope`. Errors are 400 with RFC 6749 `error` and `error_description` inside the Problem Details body "
    "(`invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`); a rate limit is 429 with "
    "`error: invalid_request` and `Retry-After`. Responses are never cached.",
    responses=problem_responses(400, 429),
    dependencies=[TokenRateLimit, SingleValuedForm, NoStore],
)
async def token(
    form: TokenForm, request: Request, session: DbSession, settings: SettingsDep, background_tasks: BackgroundTasks
) -> TokenPair:
    match form:
        case TokenRequest(grant_type=GrantType.REFRESH_TOKEN, refresh_token=str(refresh_token)):
            return await auth_service.refresh(session, refresh_token, settings, scope=form.scope)
        case TokenRequest(grant_type=GrantType.PASSWORD, username=str(username), password=str(password)):
            tokens = await auth_service.login(
                session, email=username, password=password, scope=form.scope, settings=settings
            )
            background_tasks.add_task(audit_service.record, "signed_in", email=username, client=client_address(request))
            return tokens
        case _:  # TokenRequest's own validator already refused a grant without its parameters
            raise InvalidRequest


@token_router.post(
    "/refresh",
    summary="Refresh tokens",
    description="Kept for clients of the first version: the same as `POST /v1/auth/token` with "
    "`grant_type=refresh_token`, with a JSON body. Each refresh token works once; presenting a used one again "
    "revokes every token rotated from the same sign-in. Errors are those of the token endpoint.",
    responses=problem_responses(400),
    dependencies=[NoStore],
    deprecated=True,
)
async def refresh(body: RefreshTokenBody, session: DbSession, settings: SettingsDep) -> TokenPair:
    return await auth_service.refresh(session, body.refresh_token, settings)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Revoke the refresh token and every token rotated from the same sign-in.",
    responses=problem_responses(422),
)
async def logout(
    body: RefreshTokenBody, request: Request, session: DbSession, background_tasks: BackgroundTasks
) -> None:
    await auth_service.logout(session, body.refresh_token)
    background_tasks.add_task(audit_service.record, "signed_out", client=client_address(request))
