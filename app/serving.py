"""uvicorn's httptools protocol with the two bounds it lacks: request-head size and time.

uvicorn 0.54 with httptools accepts a request head of any size (an 8 MB header was
taken in whole) and waits for it for as long as the client likes; only h11 has a size
limit, at half the speed (docs/decisions/0016-request-head-limits.md). This subclass

- counts each request head as it arrives, and answers 431 Problem Details when the
  request line and headers pass `APP_MAX_HEADER_BYTES` (an unfinished head is counted
  in raw bytes, so memory stays bounded however it is sent);
- closes a connection whose head is not complete within `APP_HEADER_TIMEOUT_SECONDS`.

Everything else is uvicorn's. The serving command selects it:
`uvicorn ... --http app.serving:BoundedHttpToolsProtocol`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.config import get_settings
from app.core.errors import RequestHeaderFieldsTooLarge

_STATUS_LINE = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
# After refusing, keep reading (and dropping) what the client still sends for this long before
# closing: closing with unread input makes the kernel send a reset that destroys the 431 in flight.
_LINGER_SECONDS = 2.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - uvicorn's own signature, passed on
        super().__init__(*args, **kwargs)
        settings = get_settings().app
        self._max_head_bytes = settings.max_header_bytes
        self._head_timeout = settings.header_timeout_seconds
        self._problem_base_url = str(settings.problem_base_url)
        self._reading_head = True
        self._raw_head_bytes = 0  # bytes received while the head was unfinished
        self._parsed_head_bytes = 0  # the request line and headers as parsed
        self._heads_completed = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # --- connection -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: drop input until the connection closes
        if self._reading_head and self._head_timer is None:
            self._start_head_timer()  # the next request on a kept-alive connection starts here
        reading_head, heads_before = self._reading_head, self._heads_completed
        super().data_received(data)
        if reading_head and self._heads_completed == heads_before and not self.transport.is_closing():
            # No head was completed in this chunk, so all of it belongs to the unfinished one.
            self._raw_head_bytes += len(data)
            if self._raw_head_bytes > self._max_head_bytes:
                self._refuse_head()

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_head = True
        self._parsed_head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._parsed_head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._raw_head_bytes = 0
        self._heads_completed += 1
        self._stop_head_timer()
        if self._refused:
            return
        if self._parsed_head_bytes > self._max_head_bytes:
            self._refuse_head()  # the whole head came in one read: refused before the app sees it
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._reading_head = True  # the next bytes on this connection begin the next request

    # --- limits -----------------------------------------------------------------------------

    def _start_head_timer(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self._head_timeout, self._head_too_slow)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._reading_head and not self._refused and not self.transport.is_closing():
            self.logger.warning("Request head not received in time; connection closed.")
            self.transport.close()

    def _refuse_head(self) -> None:
        self._refused = True
        self._stop_head_timer()
        error = RequestHeaderFieldsTooLarge()
        body = json.dumps(
            {
                "type": f"{self._problem_base_url.rstrip('/')}/{error.code.replace('_', '-')}",
                "title": error.title,
                "status": error.status_code,
                "detail": error.detail,
                "instance": None,
                "code": error.code,
                "request_id": uuid.uuid4().hex,
            }
        ).encode()
        self.logger.warning("Request head too large; refused with 431.")
        self.transport.write(
            b"".join(
                [
                    _STATUS_LINE,
                    b"content-type: application/problem+json\r\n",
                    b"content-length: " + str(len(body)).encode() + b"\r\n",
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
