"""The production serving command, run as a real process: what uvicorn does before the app sees a request.

- a direct caller cannot choose its own address with X-Forwarded-For (rate limits count the peer);
- a request head larger than APP_MAX_HEADER_BYTES is refused with 431, an 8 MB one included;
- a request head that does not arrive within APP_HEADER_TIMEOUT_SECONDS is cut off;
- the README's command is the Dockerfile's, graceful-shutdown timeout included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.outages import closed_port

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
HEADER_TIMEOUT_SECONDS = 1


def dockerfile_command() -> list[str]:
    [line] = [line for line in (REPO_ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    command: list[str] = json.loads(line.removeprefix("CMD "))
    return command


def readme_command() -> list[str]:
    [row] = [
        line for line in (REPO_ROOT / "README.md").read_text().splitlines() if line.startswith("| API, production")
    ]
    # The command may start with environment assignments (PROMETHEUS_MULTIPROC_DIR=...).
    match = re.search(r"`(?:[A-Z_]+=(?:\$\([^)]*\)|\S+) )*uv run (uvicorn [^`]+)`", row)
    assert match, row
    return shlex.split(match[1])


def test_the_readme_serves_with_the_dockerfile_command() -> None:
    assert readme_command() == dockerfile_command()
    command = dockerfile_command()
    assert command[command.index("--timeout-graceful-shutdown") + 1] == "20"
    assert "--no-proxy-headers" in command


def _with_option(command: list[str], option: str, value: str) -> list[str]:
    command = list(command)
    command[command.index(option) + 1] = value
    return command


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = closed_port()
    command = _with_option(_with_option(dockerfile_command(), "--host", "127.0.0.1"), "--port", str(port))
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("APP_", "RATE_LIMIT_"))}
    environment.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url_for_tests(),
            "REDIS_URL": redis_url_for_tests(),
            "RATE_LIMIT_SIGNUP": "2/minute",
            "APP_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT_SECONDS),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    process = subprocess.Popen(  # noqa: S603 - the documented command, from our own venv
        command,
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded CI machine imports slowly
        while True:
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start within 90 s"
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.2)  # pause before the next try; returns early if it exited
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


async def test_a_direct_caller_cannot_choose_its_address_with_x_forwarded_for(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        statuses = []
        for i in range(3):
            body = {"email": f"spoof{i}@example.com", "name": "S", "password": "correct-horse-battery"}
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"203.0.113.{i + 1}"}
            statuses.append((await client.post("/v1/auth/signup", json=body, headers=headers)).status_code)
    assert statuses == [201, 201, 429]


async def _exchange(server: str, head: bytes, *, wait: float = 10) -> bytes:
    """Send a raw request head in 64 KiB writes; return what the server answered (b"" if it just closed)."""
    port = int(server.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for start in range(0, len(head), 65536):
            writer.write(head[start : start + 65536])
            await writer.drain()
    except ConnectionError:
        pass  # the server refused and closed while we were still sending: read what it said
    try:
        async with asyncio.timeout(wait):
            return await reader.read(65536)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_an_8_mb_header_is_refused_with_431(server: str) -> None:
    head = b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n"
    answer = await _exchange(server, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer
    assert b'"code": "request_header_fields_too_large"' in answer


async def test_many_headers_over_the_limit_are_refused_too(server: str) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400))  # ~44 KB in small headers
    answer = await _exchange(server, b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


async def test_a_request_head_that_never_completes_is_cut_off(server: str) -> None:
    started = time.monotonic()
    answer = await _exchange(server, b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", wait=10)
    assert answer == b""  # closed by the server, not by our timeout (which would raise)
    assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + 5


async def test_ordinary_requests_with_large_bodies_and_kept_alive_connections_still_work(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        for _ in range(3):  # one kept-alive connection, several requests
            assert (await client.get("/health/live")).status_code == 200
        big = {"email": "big@example.com", "name": "n" * 500_000, "password": "correct-horse-battery"}
        response = await client.post("/v1/auth/signup", json=big)
        assert response.status_code == 422  # the app's own answer: the body passed the server
        await asyncio.sleep(HEADER_TIMEOUT_SECONDS + 0.5)  # idle between requests is keep-alive's business
        assert (await client.get("/health/live")).status_code == 200
