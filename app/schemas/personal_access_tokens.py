"""Personal access token schemas: the secret appears in exactly one of them, the creation response (SCH-1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, field_validator

from app.core.scopes import Scope
from app.schemas.base import ReadSchema, RequestSchema, UtcDatetime
from app.schemas.users import Name, ScopeName

MAX_LIFETIME_DAYS = 366


class PersonalAccessTokenCreate(RequestSchema):
    name: Annotated[Name, Field(description="What the token is for, to recognise it in the list.")]
    scopes: Annotated[
        list[ScopeName],
        Field(max_length=len(Scope), description="At most the scopes the caller holds; may be empty."),
    ]
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_LIFETIME_DAYS)]

    @field_validator("scopes")
    @classmethod
    def _each_scope_once(cls, scopes: list[Scope]) -> list[Scope]:
        return sorted(set(scopes))


class PersonalAccessTokenRead(ReadSchema):
    id: uuid.UUID
    name: str
    scopes: list[str]
    expires_at: UtcDatetime
    last_used_at: UtcDatetime | None = Field(description="Updated at most once a minute.")
    created_at: UtcDatetime


class PersonalAccessTokenCreated(PersonalAccessTokenRead):
    token: str = Field(description="The bearer token. Shown only in this response: store it now.")
