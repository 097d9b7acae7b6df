"""An author's export of their posts: rendered in a worker thread while its progress streams (ASY-3, ASY-7)."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import structlog

from app.schemas.posts import (
    ExportFormat,
    PostExportComplete,
    PostExportEvent,
    PostExportFailed,
    PostExportProgress,
    PostRead,
)

# Progress events per export, whatever its size: enough for a progress bar, few enough to stay cheap.
PROGRESS_UPDATES = 100

logger = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RenderedExport:
    content: str
    rows: int
    stopped: bool  # True when `stop` cut the rendering short


def render_export(
    posts: Sequence[PostRead],
    export_format: ExportFormat,
    *,
    stop: threading.Event,
    on_progress: Callable[[int], None],
) -> RenderedExport:
    """Render `posts` as CSV or NDJSON. Blocking: it runs in a worker thread (ASY-3).

    `stop` is checked before each row, so once it is set the function returns within a row.
    `on_progress(rows_done)` is called from this thread about `PROGRESS_UPDATES` times.
    """
    buffer = io.StringIO()
    write_row = _csv_rows(buffer) if export_format == "csv" else _ndjson_rows(buffer)
    total = len(posts)
    step = max(1, total // PROGRESS_UPDATES)
    rows = 0
    for post in posts:
        if stop.is_set():
            break
        write_row(post)
        rows += 1
        if rows % step == 0 or rows == total:
            on_progress(rows)
    stopped = rows < total
    logger.info("post export rendered", format=export_format, rows=rows, total=total, stopped=stopped)
    return RenderedExport(content=buffer.getvalue(), rows=rows, stopped=stopped)


def _csv_rows(buffer: io.StringIO) -> Callable[[PostRead], None]:
    writer = csv.writer(buffer)
    writer.writerow(list(PostRead.model_fields))

    def write(post: PostRead) -> None:
        writer.writerow(post.model_dump(mode="json").values())

    return write


def _ndjson_rows(buffer: io.StringIO) -> Callable[[PostRead], None]:
    def write(post: PostRead) -> None:
        buffer.write(post.model_dump_json())
        buffer.write("\n")

    return write


class PostExport:
    """One export of an author's posts, rendered in a worker thread while its progress streams (ASY-7).

    `events()` starts the thread and yields progress, then one `complete` or `error` event.
    `close()` stops the thread and waits for it; the owner calls it however the stream ended,
    because a consumer that goes away simply never resumes `events()`.
    """

    def __init__(self, posts: Sequence[PostRead]) -> None:
        # Plain data, loaded beforehand: neither the thread nor the stream touches the database.
        self._posts = posts
        self._stop = threading.Event()
        self._rendering: asyncio.Task[RenderedExport] | None = None

    async def events(self, export_format: ExportFormat) -> AsyncIterator[PostExportEvent]:
        if self._rendering is not None:
            raise RuntimeError("An export renders once.")
        total = len(self._posts)
        # Captured here, on the event loop: the thread never looks a loop up for itself.
        loop = asyncio.get_running_loop()
        handed_over: asyncio.Queue[int | None] = asyncio.Queue()  # rows done; None when the thread ends

        def hand_over(rows_done: int | None) -> None:
            loop.call_soon_threadsafe(handed_over.put_nowait, rows_done)

        def render() -> RenderedExport:
            try:
                return render_export(self._posts, export_format, stop=self._stop, on_progress=hand_over)
            finally:
                hand_over(None)  # queued after every progress report, so nothing is left behind

        self._rendering = asyncio.create_task(asyncio.to_thread(render))
        yield PostExportProgress(done=0, total=total)
        while (rows_done := await handed_over.get()) is not None:
            yield PostExportProgress(done=rows_done, total=total)
        try:
            rendered = await self._rendering
        except Exception:
            # The stream has already answered 200: the failure becomes its last event, the traceback a log line.
            logger.exception("post export failed", format=export_format, total=total)
            yield PostExportFailed(code="export_failed", detail="The export could not be rendered.")
            return
        if not rendered.stopped:  # stopped only by close(), when nobody is listening any more
            yield PostExportComplete(format=export_format, row_count=rendered.rows, content=rendered.content)

    async def close(self) -> None:
        """Stop the thread at its next row and wait until it has returned. Safe to call at any time."""
        self._stop.set()
        if self._rendering is None:
            return
        if not self._rendering.done():
            logger.info("post export abandoned", total=len(self._posts))
        await asyncio.wait({self._rendering})
