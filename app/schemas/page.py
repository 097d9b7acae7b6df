"""The keyset page every list endpoint returns (SCH-4), and its opaque cursor.

A cursor is the (created_at, id) of the last row on a page, as base64url JSON.
Clients treat it as opaque; a tampered or foreign cursor fails validation (422)
like any other bad parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
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
    raw = json.dumps([cursor.created_at.isoformat(), cursor.id.hex], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: object) -> KeysetCursor:
    if isinstance(value, KeysetCursor):
        return value
    if not isinstance(value, str) or len(value) > _CURSOR_MAX_LENGTH:
        raise ValueError("invalid cursor")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        created_at, row_id = json.loads(raw)
        cursor = KeysetCursor(datetime.fromisoformat(created_at), uuid.UUID(hex=row_id))
    except (binascii.Error, ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError("invalid cursor") from exc
    if cursor.created_at.tzinfo is None:
        raise ValueError("invalid cursor")
    return cursor


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
