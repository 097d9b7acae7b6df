"""Post schemas (SCH-1), the list's query (SCH-8), and the export's query and stream events (SCH-3)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from app.schemas.base import Lax, QuerySchema, ReadSchema, RequestSchema, UtcDatetime
from app.schemas.page import PageQuery


class PostStatus(StrEnum):
    """Shared by the API and the service; the `post` table's CHECK constraint lists the same values."""

    DRAFT = "draft"
    PUBLISHED = "published"


Title = Annotated[str, Field(min_length=1, max_length=200)]
# Far below the request body limit; a post is prose, not a file upload.
Body = Annotated[str, Field(min_length=1, max_length=50_000)]
Status = Annotated[PostStatus, Lax]


class PostBase(BaseModel):
    title: Title
    body: Body


class PostCreate(RequestSchema, PostBase):
    status: Status = PostStatus.DRAFT


class PostUpdate(RequestSchema):
    """Fields left out (or null) keep their value. Setting `status` moves a post between draft and published."""

    title: Title | None = None
    body: Body | None = None
    status: Status | None = None


class PostRead(ReadSchema, PostBase):
    id: uuid.UUID
    author_id: uuid.UUID
    status: PostStatus
    published_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class PostListQuery(PageQuery):
    author_id: uuid.UUID | None = Field(default=None, description="Only posts written by this user.")
    q: Annotated[str | None, Field(max_length=100, description="Matches part of the title or the body.")] = None


# A Literal rather than a StrEnum: event payload schemas are inlined into the OpenAPI
# document, and a Literal renders inline where an enum would need a shared definition.
ExportFormat = Literal["csv", "ndjson"]


class PostExportQuery(QuerySchema):
    format: ExportFormat = Field(description="`csv` (one header row, then a row per post) or `ndjson`.")


class PostExportEvent(BaseModel):
    """One Server-Sent Event of an export; `event` is its SSE event name, the fields are its JSON `data`.

    Payloads stay flat (no nested models), so each one's schema can be inlined into the
    OpenAPI description of the stream.
    """

    event: ClassVar[str]


class PostExportProgress(PostExportEvent):
    """`progress`: how many posts are rendered so far. The first one, with `done` 0, announces `total`."""

    event: ClassVar[str] = "progress"

    done: int = Field(ge=0)
    total: int = Field(ge=0)


class PostExportRows(PostExportEvent):
    """`rows`: the next piece of the file. The file is the `content` of every `rows` event, in order."""

    event: ClassVar[str] = "rows"

    content: str = Field(description="CSV text (the first piece is the header row) or newline-delimited JSON.")


class PostExportComplete(PostExportEvent):
    """`complete`: the last event of a successful export."""

    event: ClassVar[str] = "complete"

    format: ExportFormat
    row_count: int = Field(ge=0, description="Posts in the export (CSV: rows after the header).")


class PostExportFailed(PostExportEvent):
    """`error`: the last event of a failed export. The server log holds the details, under the request id."""

    event: ClassVar[str] = "error"

    code: str = Field(description="Stable machine-readable error code.")
    detail: str
