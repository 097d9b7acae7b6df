"""User schemas: one per direction and audience (SCH-1). The password hash has no schema at all."""

from __future__ import annotations

import uuid
from typing import Annotated, Self

from pydantic import BaseModel, EmailStr, Field, WithJsonSchema, model_validator

from app.core.scopes import Scope
from app.schemas.base import Lax, ReadSchema, RequestSchema, UtcDatetime
from app.schemas.page import PageQuery

Name = Annotated[str, Field(min_length=1, max_length=100)]
# 12+ characters (NIST SP 800-63B); the upper bound keeps hashing time bounded.
Password = Annotated[str, Field(min_length=12, max_length=128)]
ScopeName = Annotated[Scope, Lax]


Email = Annotated[EmailStr, Field(max_length=320)]
# An address read back from the database was validated when it was written: a response states it
# without running the e-mail validator again on every read. Documented exactly as `Email`.
StoredEmail = Annotated[str, WithJsonSchema({"type": "string", "format": "email", "maxLength": 320})]


class UserBase(BaseModel):
    email: Email
    name: Name


class UserCreate(RequestSchema, UserBase):
    password: Password


class UserSelfUpdate(RequestSchema):
    """What a user may change about themselves: never scopes or status."""

    name: Name | None = None
    email: Email | None = None
    password: Password | None = None
    current_password: Annotated[str, Field(max_length=128)] | None = None

    @model_validator(mode="after")
    def _credential_changes_need_the_current_password(self) -> Self:
        if (self.password is not None or self.email is not None) and self.current_password is None:
            raise ValueError("current_password is required to change the e-mail address or the password")
        return self


class UserUpdate(RequestSchema):
    """What an administrator (`users:write`) may change."""

    name: Name | None = None
    is_active: bool | None = None
    scopes: Annotated[list[ScopeName], Field(max_length=len(Scope))] | None = None


class UserRead(ReadSchema):
    email: StoredEmail
    name: Name
    id: uuid.UUID
    is_active: bool
    email_verified: bool = Field(description="Whether the owner has followed a verification link sent to `email`.")
    scopes: list[str]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class UserListQuery(PageQuery):
    q: Annotated[str | None, Field(max_length=100, description="Matches part of the e-mail or the name.")] = None
