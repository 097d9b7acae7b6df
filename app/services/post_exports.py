"""An author's export of their posts, streamed in batches while it is rendered (ASY-3, ASY-7).

Memory per export is one batch, whatever the author wrote: rows are read a batch at a
time (a keyset walk, each batch in a short read-only session of its own), each batch is
rendered in a worker thread that reports progress, and the rendered piece is sent before
the next batch is read. No connection is held while the stream waits for a slow client.
"""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.session import read_only
from app.schemas.page import KeysetCursor
from app.schemas.posts import (
    ExportFormat,
    PostExportComplete,
    PostExportEvent,
    PostExportFailed,
    PostExportProgress,
    PostExportRows,
    PostRead,
)
from app.services import posts as posts_service

# Progress events per export, whatever its size: enough for a progress bar, few enough to stay cheap.
PROGRESS_UPDATES = 100

logger = structlog.get_logger(__name__)

# The batch after a cursor (None: the first), as plain data; an empty batch ends the export.
BatchReader = Callable[[KeysetCursor | None], Awaitable[Sequence[PostRead]]]


@dataclass(frozen=True, slots=True)
class ExportSource:
    total: int  # for progress; rows written meanwhile are exported too
    read_batch: BatchReader


def source_for(
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    author_id: uuid.UUID,
    total: int,
    *,
    batch_size: int,
) -> ExportSource:
    async def read_batch(after: KeysetCursor | None) -> Sequence[PostRead]:
        # Its own short session: the connection goes back to the pool before the batch is sent.
        async with read_only(session_factory, engine) as session:
            return await posts_service.list_for_export(session, author_id, after=after, limit=batch_size)

    return ExportSource(total=total, read_batch=read_batch)


@dataclass(frozen=True, slots=True)
class RenderedBatch:
    content: str
    rows: int
    stopped: bool  # True when `stop` cut the rendering short


def csv_header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(list(PostRead.model_fields))
    return buffer.getvalue()


def render_batch(
    posts: Sequence[PostRead],
    export_format: ExportFormat,
    *,
    stop: threading.Event,
    on_row: Callable[[], None],
) -> RenderedBatch:
    """Render `posts` as CSV rows (no header) or NDJSON lines. Blocking: it runs in a worker thread (ASY-3).

    `stop` is checked before each row, so once it is set the function returns within a row.
    """
    buffer = io.StringIO()
    write_row = _csv_rows(buffer) if export_format == "csv" else _ndjson_rows(buffer)
    rows = 0
    for post in posts:
        if stop.is_set():
            break
        write_row(post)
        rows += 1
        on_row()
    return RenderedBatch(content=buffer.getvalue(), rows=rows, stopped=rows < len(posts))


def _csv_rows(buffer: io.StringIO) -> Callable[[PostRead], None]:
    writer = csv.writer(buffer)

    def write(post: PostRead) -> None:
        writer.writerow(post.model_dump(mode="json").values())

    return write


def _ndjson_rows(buffer: io.StringIO) -> Callable[[PostRead], None]:
    def write(post: PostRead) -> None:
        buffer.write(post.model_dump_json())
        buffer.write("\n")

    return write


class PostExport:
    """One export of an author's posts, read in batches and rendered in a worker thread (ASY-7).

    `events()` yields progress, the file as `rows` pieces, then one `complete` or `error`
    event. `close()` stops the thread and waits for it; the owner calls it however the
    stream ended, because a consumer that goes away simply never resumes `events()`.
    """

    def __init__(self, source: ExportSource) -> None:
        self._source = source
        self._stop = threading.Event()
        self._rendering: asyncio.Task[RenderedBatch] | None = None
        self._started = False
        self._finished = False  # a `complete` or `error` event was produced
        self._done = 0  # rows rendered so far; written by the thread, read on the loop after it returns

    async def events(self, export_format: ExportFormat) -> AsyncIterator[PostExportEvent]:
        if self._started:
            raise RuntimeError("An export renders once.")
        self._started = True
        total = self._source.total
        step = max(1, total // PROGRESS_UPDATES)
        # Captured here, on the event loop: the thread never looks a loop up for itself.
        loop = asyncio.get_running_loop()
        handed_over: asyncio.Queue[int | None] = asyncio.Queue()  # rows done; None when a batch ends

        def count_row() -> None:  # runs in the thread, one batch at a time
            self._done += 1
            if self._done % step == 0 or self._done == total:
                loop.call_soon_threadsafe(handed_over.put_nowait, self._done)

        def render(batch: Sequence[PostRead]) -> RenderedBatch:
            try:
                return render_batch(batch, export_format, stop=self._stop, on_row=count_row)
            finally:
                loop.call_soon_threadsafe(handed_over.put_nowait, None)  # after every progress report

        yield PostExportProgress(done=0, total=total)
        if export_format == "csv":
            yield PostExportRows(content=csv_header())
        after: KeysetCursor | None = None
        while True:
            try:
                batch = await self._source.read_batch(after)
            except Exception:
                # The database went away mid-export (the request's own checks passed long ago).
                logger.exception("post export failed", format=export_format, total=total, done=self._done)
                self._finished = True
                yield PostExportFailed(code="export_failed", detail="The export could not be completed.")
                return
            if not batch:
                break
            self._rendering = asyncio.create_task(asyncio.to_thread(render, batch))
            while (rows_done := await handed_over.get()) is not None:
                yield PostExportProgress(done=rows_done, total=max(total, rows_done))
            try:
                rendered = await self._rendering
            except Exception:
                # The stream has already answered 200: the failure becomes its last event, the traceback a log line.
                logger.exception("post export failed", format=export_format, total=total, done=self._done)
                self._finished = True
                yield PostExportFailed(code="export_failed", detail="The export could not be rendered.")
                return
            if rendered.stopped:  # stopped only by close(), when nobody is listening any more
                break
            yield PostExportRows(content=rendered.content)
            after = KeysetCursor(batch[-1].created_at, batch[-1].id)
        if not self._stop.is_set():
            self._finished = True
            self._log_rendered(stopped=False)
            yield PostExportComplete(format=export_format, row_count=self._done)

    async def close(self) -> None:
        """Stop the thread at its next row and wait until it has returned. Safe to call at any time."""
        self._stop.set()
        if self._started and not self._finished:
            logger.info("post export abandoned", total=self._source.total)
        if self._rendering is not None:
            await asyncio.wait({self._rendering})
        if self._started and not self._finished:
            self._log_rendered(stopped=True)

    def _log_rendered(self, *, stopped: bool) -> None:
        logger.info("post export rendered", rows=self._done, total=self._source.total, stopped=stopped)
