"""E-mail verification and password reset: the one-time-token flows of an account."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from app.schemas.base import RequestSchema
from app.schemas.users import Email, Password

# A token as sent in e-mails (43 characters); the bound keeps junk from being hashed at length.
OneTimeToken = Annotated[str, Field(min_length=1, max_length=256)]


class EmailVerificationConfirm(RequestSchema):
    token: OneTimeToken


class PasswordResetRequest(RequestSchema):
    email: Email


class PasswordResetConfirm(RequestSchema):
    token: OneTimeToken
    new_password: Password


class Accepted(BaseModel):
    """A 202: the request is recorded and its e-mail will follow."""

    detail: str = Field(description="What happens next, for people; the same text whatever the outcome.")
