"""A real HTTP server in the test process that records webhook requests (for worker subprocesses,
which respx cannot reach, and for replies respx cannot produce: huge, endless or dripping bodies).
Minimal HTTP/1.1: one request per connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

CHUNK = b"x" * 65_536


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    delay_seconds: float = 0.0
    status: int = 200
    # The reply body: `reply_bytes` of it (None: without end, until the client hangs up),
    # sent in 64 KiB chunks, or one byte every `drip_seconds` when that is set.
    reply_bytes: int | None = 0
    drip_seconds: float = 0.0
    reply_body: bytes | None = None  # a fixed reply body instead
    requests: list[Received] = field(default_factory=list)
    arrived: int = 0  # requests whose headers were read, answered or not
    sent_bytes: int = 0  # reply body bytes the client took before it hung up
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.arrived += 1
        await asyncio.sleep(self.delay_seconds)
        self.requests.append(Received(path=request_line.split(" ")[1], headers=headers, body=body))
        size = len(self.reply_body) if self.reply_body is not None else self.reply_bytes
        length = "" if size is None else f"content-length: {size}\r\n"
        writer.write(f"HTTP/1.1 {self.status} Answer\r\n{length}connection: close\r\n\r\n".encode())
        try:
            await writer.drain()
            await self._reply(writer)
        except ConnectionError:
            self.hung_up.set()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _reply(self, writer: asyncio.StreamWriter) -> None:
        if self.reply_body is not None:
            writer.write(self.reply_body)
            await writer.drain()
            return
        remaining = self.reply_bytes
        while remaining is None or remaining > 0:
            if self.drip_seconds:
                piece = b"."
                await asyncio.sleep(self.drip_seconds)
            else:
                piece = CHUNK if remaining is None else CHUNK[:remaining]
            writer.write(piece)
            await writer.drain()  # waits while the client is not reading: memory here stays flat too
            self.sent_bytes += len(piece)
            if remaining is not None:
                remaining -= len(piece)


@asynccontextmanager
async def http_receiver(
    delay_seconds: float = 0.0,
    *,
    status: int = 200,
    reply_bytes: int | None = 0,
    drip_seconds: float = 0.0,
    reply_body: bytes | None = None,
) -> AsyncIterator[Receiver]:
    receiver = Receiver(
        delay_seconds=delay_seconds,
        status=status,
        reply_bytes=reply_bytes,
        drip_seconds=drip_seconds,
        reply_body=reply_body,
    )
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
