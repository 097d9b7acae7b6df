"""The keyset page every list endpoint returns (SCH-4), and its opaque cursor.

A cursor is the (created_at, id) of the last row on a page, as base64url JSON.
Clients treat it as opaque. Only the exact text `encode_cursor` writes is accepted
back: anything else (garbage, other types, an edited or re-encoded cursor, a
timestamp outside the range we can compare) fails validation (422) like any
other bad parameter, never later in the database (docs/decisions/0012-cursors.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer

from app.schemas.base import QuerySchema

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
_CURSOR_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class KeysetCursor:
    # A dataclass, not a NamedTuple: FastAPI reads tuple-typed query fields as repeated parameters.
    created_at: datetime
    id: uuid.UUID


def encode_cursor(cursor: KeysetCursor) -> str:
    created_at = cursor.created_at.astimezone(UTC).isoformat()
    raw = json.dumps([created_at, cursor.id.hex], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: object) -> KeysetCursor:
    if isinstance(value, KeysetCursor):
        return value
    cursor = _parse_cursor(value) if isinstance(value, str) and len(value) <= _CURSOR_MAX_LENGTH else None
    # Round trip: only what we wrote comes back. This also refuses naive timestamps, and offsets
    # that overflow when moved to UTC, before any SQL sees them.
    if cursor is None or cursor.created_at.tzinfo is None or _encodes_to(cursor) != value:
        raise ValueError("invalid cursor")
    return KeysetCursor(cursor.created_at.astimezone(UTC), cursor.id)


def _parse_cursor(value: str) -> KeysetCursor | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value.encode("ascii") + b"=" * (-len(value) % 4)))
        match decoded:
            case [str(created_at), str(row_id)]:
                return KeysetCursor(datetime.fromisoformat(created_at), uuid.UUID(hex=row_id))
            case _:
                return None
    except (binascii.Error, ValueError):  # JSONDecodeError, UnicodeError and bad dates or ids too
        return None


def _encodes_to(cursor: KeysetCursor) -> str | None:
    try:
        return encode_cursor(cursor)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 has no UTC equivalent
        return None


Cursor = Annotated[
    KeysetCursor,
    BeforeValidator(decode_cursor),
    PlainSerializer(encode_cursor, return_type=str),
    Field(json_schema_extra={"type": "string"}),
]

ItemT = TypeVar("ItemT")


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[ItemT]):
    """One page of rows as a repository returns it; the router turns it into a `Page`."""

    rows: Sequence[ItemT]
    next_cursor: KeysetCursor | None


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: Cursor | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    limit: int


class PageQuery(QuerySchema):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = Field(default=None, description="The `next_cursor` of the previous page.")
