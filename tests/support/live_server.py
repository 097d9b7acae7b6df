"""The API as users run it: `uvicorn app.main:app` in a process of its own, on a free loopback port.

For the clients that need a real server (requests-oauthlib, schemathesis) and for what
only the server decides (the `server` header). It uses the test database and the test
Redis database, so the per-test clean-up applies to it as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.outages import closed_port

# The production command's flags that change what a client sees (README, Dockerfile).
SERVING_FLAGS = ("--no-server-header",)
# Generous: on a loaded CI machine importing the app alone can take seconds.
STARTUP_SECONDS = 90
ENVIRONMENT = {
    "APP_ENV": "test",
    "APP_ALLOWED_HOSTS": '["127.0.0.1"]',
    "AUTH_ARGON2_MEMORY_KIB": "1024",
    "AUTH_ARGON2_TIME_COST": "1",
    "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
}


@contextmanager
def live_server(log_path: Path, **environment: str) -> Iterator[str]:
    """Start the server, wait until `/health/live` answers, yield its base URL, then stop it."""
    port = closed_port()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    env = {
        **os.environ,
        **ENVIRONMENT,
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis_url_for_tests(),
        **environment,
    }
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own venv's uvicorn, fixed arguments
            [str(uvicorn), "app.main:app", "--host", "127.0.0.1", "--port", str(port), *SERVING_FLAGS],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_live(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_live(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == httpx.codes.OK:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # noqa: TID251 - a synchronous fixture, before any event loop serves
    raise RuntimeError(f"the server did not answer within {STARTUP_SECONDS} s:\n{log_path.read_text()[-3000:]}")
