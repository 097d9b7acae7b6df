"""Base classes that fix the configuration of every schema kind (SCH-1, SCH-2, SCH-7).

Inherit from one of these instead of `BaseModel`, so the rules cannot be forgotten:

- `RequestSchema`: bodies sent by clients. Unknown fields are rejected, types are
  not coerced, surrounding whitespace is stripped.
- `QuerySchema`: query-string parameters. Unknown parameters are rejected; values
  are coerced, because a query string is always text.
- `ReadSchema`: responses built from ORM rows (`from_attributes`).
- `ProtocolFormSchema`: forms whose rules an external protocol fixes (the OAuth2
  token request). RFC 6749 §3.2 says unknown parameters MUST be ignored, so they
  are; values are not coerced and, unlike our own bodies, not stripped: a
  password is exactly what was typed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer, Strict

# FastAPI validates bodies in Python mode, where strict mode accepts only real
# enum, UUID and datetime instances. JSON carries those as strings, so fields of
# these types opt out of strictness for that one conversion: `Annotated[Status, Lax]`.
Lax = Strict(strict=False)


def _utc_isoformat(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


# Every timestamp leaves the API timezone-aware and in UTC, whatever the database session's zone.
UtcDatetime = Annotated[AwareDatetime, PlainSerializer(_utc_isoformat, return_type=str)]


class RequestSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class QuerySchema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReadSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProtocolFormSchema(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
