"""Base classes that fix the configuration of every schema kind (SCH-1, SCH-2, SCH-7).

Inherit from one of these instead of `BaseModel`, so the rules cannot be forgotten:

- `RequestSchema`: bodies sent by clients. Unknown fields are rejected, types are
  not coerced, surrounding whitespace is stripped.
- `QuerySchema`: query-string parameters. Unknown parameters are rejected; values
  are coerced, because a query string is always text.
- `FormSchema`: form-encoded bodies whose rules an external protocol fixes (the OAuth2
  token request). RFC 6749 §3.2 says unknown parameters MUST be ignored, so they are;
  values are not coerced and not stripped: a password is exactly what was typed.
- `ReadSchema`: responses built from ORM rows (`from_attributes`).

Every input base refuses text PostgreSQL cannot store (NUL, unpaired surrogates) at
any depth, and numbers that are not finite (docs/decisions/0010-text-inputs-refuse-nul.md):
the client gets a 422 naming the field instead of a database error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer, Strict, field_validator
from pydantic_core import PydanticCustomError

# FastAPI validates bodies in Python mode, where strict mode accepts only real
# enum, UUID and datetime instances. JSON carries those as strings, so fields of
# these types opt out of strictness for that one conversion: `Annotated[Status, Lax]`.
Lax = Strict(strict=False)


def _utc_isoformat(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Every timestamp leaves the API timezone-aware and in UTC, whatever the database session's zone.
UtcDatetime = Annotated[AwareDatetime, PlainSerializer(_utc_isoformat, return_type=str)]


NUL = "\x00"


def is_storable_text(text: str) -> bool:
    """False for text PostgreSQL refuses: NUL anywhere, or a lone surrogate (not encodable as UTF-8)."""
    if NUL in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _carries_unstorable_text(value: object) -> bool:
    if isinstance(value, str):
        return not is_storable_text(value)
    if isinstance(value, dict):
        return any(_carries_unstorable_text(key) or _carries_unstorable_text(item) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_carries_unstorable_text(item) for item in value)
    return False  # numbers, UUIDs, datetimes, enums; nested models ran this check themselves


class TextInputSchema(BaseModel):
    """The one check every text input passes, whatever model and field it arrives in."""

    # NaN and infinities are not numbers a client means; JSON cannot even carry them back.
    model_config = ConfigDict(allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_unstorable_text(cls, value: object) -> object:
        if _carries_unstorable_text(value):
            raise PydanticCustomError(
                "string_unstorable_character",
                "Text must not contain the NUL character (\\u0000) or an unpaired surrogate",
            )
        return value


class RequestSchema(TextInputSchema):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QuerySchema(TextInputSchema):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FormSchema(TextInputSchema):
    model_config = ConfigDict(extra="ignore", strict=True)


class ReadSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)
