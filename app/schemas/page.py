"""The generic keyset page every list endpoint returns (SCH-4)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, Field

from app.schemas.base import QuerySchema

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(description="Pass as `cursor` to fetch the next page; null on the last page.")
    limit: int


class PageQuery(QuerySchema):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    cursor: Annotated[str | None, Field(max_length=512, description="Opaque cursor from a previous page.")] = None
