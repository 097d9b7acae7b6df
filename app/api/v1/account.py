"""E-mail verification and password reset: links sent by e-mail, each token good for one use."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import DbSession, SettingsDep
from app.api.problems import problem_responses
from app.api.rate_limits import PasswordResetEmailRateLimit, PasswordResetRateLimit, VerifyEmailAccountRateLimit
from app.api.security import CurrentUser
from app.schemas.account import Accepted, EmailVerificationConfirm, PasswordResetConfirm, PasswordResetRequest
from app.services import account as account_service

router = APIRouter(prefix="/auth", tags=["auth"])

VERIFICATION_SENT = "A verification link is on its way to the account's e-mail address."
RESET_SENT = "If an active account uses this address, a link to choose a new password is on its way to it."


@router.post(
    "/verify-email/request",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a verification link",
    description="E-mail a new verification link to the caller's address. Earlier links keep working until "
    "they expire. An address that is verified already gets 409.",
    responses=problem_responses(401, 409, 429),
    dependencies=[VerifyEmailAccountRateLimit],
)
async def request_verification(user: CurrentUser, session: DbSession) -> Accepted:
    await account_service.request_verification(session, user)
    return Accepted(detail=VERIFICATION_SENT)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Verify an e-mail address",
    description="Spend the token from a verification link. A used, expired, unknown or otherwise "
    "unusable token gets one and the same `invalid_token` answer.",
    responses=problem_responses(400, 422),
)
async def verify_email(body: EmailVerificationConfirm, session: DbSession) -> None:
    await account_service.verify_email(session, body.token)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a password reset link",
    description="E-mail a link to choose a new password, if an active account uses the address. The answer, "
    "and the time it takes, are the same whether or not one does.",
    responses=problem_responses(422, 429),
    dependencies=[PasswordResetRateLimit, PasswordResetEmailRateLimit],
)
async def request_password_reset(body: PasswordResetRequest, session: DbSession) -> Accepted:
    await account_service.request_password_reset(session, body.email)
    return Accepted(detail=RESET_SENT)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Choose a new password",
    description="Spend the token from a reset link and set a new password. Every session is signed out: "
    "all access and refresh tokens issued before stop working. Personal access tokens are kept.",
    responses=problem_responses(400, 422),
)
async def confirm_password_reset(body: PasswordResetConfirm, session: DbSession, settings: SettingsDep) -> None:
    await account_service.reset_password(session, body.token, body.new_password, settings.auth)
