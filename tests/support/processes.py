"""Private server and worker processes for tests that stop, kill or restart them.

Never the shared Redis: each test gets a `redis-server` of its own on a free port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.support.outages import closed_port

REDIS_SERVER = "redis-server"


class PrivateRedis:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or closed_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            REDIS_SERVER,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if not await self._answers():
            raise RuntimeError(f"redis-server on port {self.port} did not start")

    async def _answers(self) -> bool:
        client = Redis.from_url(self.url)
        try:
            for _ in range(100):
                try:
                    await client.ping()
                except RedisError:
                    await asyncio.sleep(0.05)
                else:
                    return True
            return False
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class WorkerProcess:
    """`python -m app.worker`, exactly as the README starts it, with the given environment."""

    def __init__(self, environment: Mapping[str, str], log_path: Path) -> None:
        self.environment = {**os.environ, **environment}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.worker"], env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait(self, seconds: float) -> int:
        assert self.process is not None
        for _ in range(int(seconds / 0.05)):
            code = self.process.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.05)
        raise AssertionError(f"the worker did not exit within {seconds}s:\n{self.log()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=10)
