"""The worker's development loop: `watchfiles` restarts the whole process when Python files change.

    uv run watchfiles --filter python "python -m app.worker" app

A restart, not arq's own `--watch`: that one restarts the same Worker object inside the same
process, with the job functions it imported at start, so a new job or event type is still
unknown to it. The test watches a scratch folder instead of `app/` (it must not edit the
code under test) and proves each change starts a fresh worker process.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.environment import database_url_for_tests, redis_url_for_tests

pytestmark = pytest.mark.slow

WATCHFILES = Path(sys.executable).with_name("watchfiles")
STARTED = "worker started"
TIMEOUT_SECONDS = 60


def output(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_for_starts(log: Path, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while output(log).count(STARTED) < count:
        assert time.monotonic() < deadline, f"expected {count} worker start(s):\n{output(log)[-3000:]}"
        await asyncio.sleep(0.2)


async def test_a_python_edit_restarts_the_worker_process(tmp_path: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    log = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis_url_for_tests(),
        # One line per event, so the start line can be counted.
        "NO_COLOR": "1",
    }
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *(str(WATCHFILES), "--filter", "python", "python -m app.worker", str(watched)),
            env=environment,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: the worker it starts goes with it
        )
    try:
        await wait_for_starts(log, 1)
        (watched / "jobs.py").write_text("# a new job\n")
        await wait_for_starts(log, 2)
        (watched / "jobs.py").write_text("# another job\n")
        await wait_for_starts(log, 3)
        # watchfiles stopped the old process and started a new one for each change.
        restarts = re.findall(r"\d+ changes? detected", output(log))
        assert len(restarts) == 2, output(log)[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
