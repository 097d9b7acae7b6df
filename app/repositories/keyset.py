"""Keyset pagination over (created_at, id): page N costs what page 1 costs (SCH-4).

Order and compare by the table's own columns, so PostgreSQL can walk the
(created_at, id) index instead of sorting the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.schemas.page import KeysetCursor, KeysetPage

RowT = TypeVar("RowT")


async def fetch_page(
    session: AsyncSession,
    statement: Select[RowT],
    *,
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[Any],
    after: KeysetCursor | None,
    limit: int,
    newest_first: bool,
) -> KeysetPage[RowT]:
    if after is not None:
        position = tuple_(created_at, id_)
        boundary = tuple_(after.created_at, after.id)
        statement = statement.where(position < boundary if newest_first else position > boundary)
    order = (created_at.desc(), id_.desc()) if newest_first else (created_at.asc(), id_.asc())
    # One extra row tells whether another page follows, without a COUNT.
    rows = list(await session.scalars(statement.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return KeysetPage(rows=rows, next_cursor=None)
    last = rows[limit - 1]
    cursor = KeysetCursor(getattr(last, created_at.key), getattr(last, id_.key))
    return KeysetPage(rows=rows[:limit], next_cursor=cursor)


def escape_like(text: str) -> str:
    """Make user text safe inside LIKE/ILIKE: its % and _ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
