"""A real HTTP server in the test process that records webhook requests (for worker subprocesses,
which respx cannot reach). Minimal HTTP/1.1: one request per connection, always 200."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    delay_seconds: float = 0.0
    requests: list[Received] = field(default_factory=list)
    arrived: int = 0  # requests whose headers were read, answered or not

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
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@asynccontextmanager
async def http_receiver(delay_seconds: float = 0.0) -> AsyncIterator[Receiver]:
    receiver = Receiver(delay_seconds=delay_seconds)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
