"""The test run itself: it stops at once, with one clear message, when a service is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.support.environment import TEST_REDIS_DB
from tests.support.outages import closed_port


@pytest.mark.slow
def test_run_stops_quickly_with_instructions_when_services_are_unreachable() -> None:
    port = closed_port()
    broken = {
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/service",
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_config.py"],
        env={**os.environ, **broken},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert f"PostgreSQL at postgresql://postgres@127.0.0.1:{port}/postgres did not answer" in output
    assert f"Redis at redis://127.0.0.1:{port}/{TEST_REDIS_DB} did not answer" in output
    assert "docker compose up -d postgres redis" in output
    assert "Traceback" not in output
    assert elapsed < 30, f"took {elapsed:.1f}s"
