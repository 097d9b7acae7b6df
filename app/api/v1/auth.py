"""Sign-up and the OAuth2 token endpoints."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status

from app.api.deps import DbSession, SettingsDep
from app.api.idempotency import IdempotentAnonymous
from app.api.problems import problem_responses
from app.api.rate_limits import PasswordForm, SignupRateLimit, TokenRateLimit, client_address
from app.api.routing import Route
from app.schemas.auth import RefreshTokenBody, TokenPair
from app.schemas.users import UserCreate, UserRead
from app.services import audit as audit_service
from app.services import auth as auth_service
from app.services import users as users_service

router = APIRouter(prefix="/auth", tags=["auth"], route_class=Route)


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


@router.post(
    "/token",
    summary="Get tokens",
    description="OAuth2 password grant: `username` is the e-mail. The optional `scope` narrows the granted "
    "scopes; a scope the account lacks is refused with `invalid_scope`. Bad credentials give `invalid_grant`.",
    responses=problem_responses(400, 422, 429),
    dependencies=[TokenRateLimit],
)
async def token(
    form: PasswordForm, request: Request, session: DbSession, settings: SettingsDep, background_tasks: BackgroundTasks
) -> TokenPair:
    tokens = await auth_service.login(
        session, email=form.username, password=form.password, scope=form.scope or None, settings=settings
    )
    background_tasks.add_task(audit_service.record, "signed_in", email=form.username, client=client_address(request))
    return tokens


@router.post(
    "/refresh",
    summary="Refresh tokens",
    description="Exchange a refresh token for a new pair. Each refresh token works once; "
    "presenting a used one again revokes every token rotated from the same sign-in.",
    responses=problem_responses(400, 422),
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
