"""What the log looks like in each environment, read from a real process's stderr (decision 0063)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import pytest

from app.core.config import Environment
from app.core.logging import LeftToTheirOwnHandler, adopt_logger

# Our events and library events, an exception with a secret in a local variable, arq's routine lines.
EMIT = """
import logging, structlog
from app.core.config import Environment
from app.core.logging import configure_logging

configure_logging(Environment({env!r}))
structlog.contextvars.bind_contextvars(request_id="r-1")
structlog.get_logger("app.api.middleware.observability").info("request", method="GET", status=200)
logging.getLogger("uvicorn.error").info("Started %s", "server", extra={{"color_message": "\\x1b[1mStarted\\x1b[0m"}})
logging.getLogger("arq.worker").info("%6.2fs → %s(%s)%s", 0.01, "job-1:send_welcome_email", "", "")
logging.getLogger("arq.worker").info("%6.2fs ← %s ● %s", 0.01, "job-1:send_welcome_email", "")
logging.getLogger("arq.worker").info("recording health: %s", "j_complete=1")
logging.getLogger("arq.worker").info("%6.2fs ↻ %s retrying job in %0.2fs", 0.01, "job-2:deliver_webhook", 5)
try:
    password = "hunter2-in-a-frame"
    raise ZeroDivisionError("boom")
except ZeroDivisionError:
    structlog.get_logger("app.worker.runner").exception("job failed")
structlog.get_logger("app.core").debug("below the level")
"""


def _stderr_of(env: Environment) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed script
        [sys.executable, "-c", EMIT.format(env=env.value)],
        env={**os.environ, "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr


@pytest.mark.parametrize("env", [Environment.PRODUCTION, Environment.STAGING])
def test_deployed_environments_write_one_json_object_per_line_with_the_same_fields(env: Environment) -> None:
    lines = [json.loads(line) for line in _stderr_of(env).splitlines()]

    assert [line["event"] for line in lines] == [
        "request",
        "Started server",
        "  0.01s ↻ job-2:deliver_webhook retrying job in 5.00s",
        "job failed",
    ]
    for line in lines:  # our pipeline (bytes + orjson) and the stdlib one agree on the fields
        assert {"event", "level", "logger", "timestamp", "request_id"} <= line.keys(), line
        assert "color_message" not in line
    assert lines[0] | {"timestamp": None} == {
        "event": "request",
        "method": "GET",
        "status": 200,
        "level": "info",
        "logger": "app.api.middleware.observability",
        "request_id": "r-1",
        "timestamp": None,
    }
    assert "ZeroDivisionError: boom" in lines[3]["exception"]
    assert "hunter2" not in lines[3]["exception"]


def test_local_development_writes_one_readable_line_per_event_without_escape_codes_or_locals() -> None:
    output = _stderr_of(Environment.LOCAL)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)

    events = [line.split("] ", 1)[1].split(" [")[0].strip() for line in plain.splitlines() if line.startswith("20")]
    assert events == ["request", "Started server", "0.01s ↻ job-2:deliver_webhook retrying job in 5.00s", "job failed"]
    assert "color_message" not in plain  # uvicorn's copy of the message with escape codes
    assert "send_welcome_email" not in output  # arq's per-job lines are DEBUG
    assert "recording health" not in output
    assert "retrying job in 5.00s" in output
    assert "ZeroDivisionError" in output
    assert "hunter2" not in output  # tracebacks without local variables
    assert "below the level" not in output


def test_a_library_logger_with_its_own_handler_prints_once_until_adopted() -> None:
    """arq's CLI gives the `arq` logger a handler before the worker starts: its lines must not print twice."""
    library = logging.getLogger("arq")
    own_handler = logging.NullHandler()
    ours = LeftToTheirOwnHandler("arq")
    record = logging.LogRecord("arq.worker", logging.INFO, __file__, 1, "Starting worker", None, None)
    unrelated = logging.LogRecord("arqueology", logging.INFO, __file__, 1, "dig", None, None)
    library.addHandler(own_handler)
    try:
        assert not ours.filter(record)  # its own handler prints it
        assert ours.filter(unrelated)
    finally:
        library.removeHandler(own_handler)
    adopt_logger("arq")
    assert ours.filter(record)  # adopted: ours prints it
