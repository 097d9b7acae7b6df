"""The test run itself: it stops at once, with one clear message, when a service is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.config import DatabaseSettings, RedisSettings
from tests.support.environment import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, TEST_REDIS_DB, configured
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


# One rule for `.env`: the tests find the servers where the app would.
SERVER_VARIABLES = [("DATABASE_URL", DatabaseSettings), ("REDIS_URL", RedisSettings)]
FROM_FILE = {
    "DATABASE_URL": "postgresql+asyncpg://postgres@db.from-env-file.test:5433/service",
    "REDIS_URL": "redis://redis.from-env-file.test:6380/0",
}
FROM_ENVIRONMENT = {
    "DATABASE_URL": "postgresql+asyncpg://postgres@db.from-environment.test:5434/service",
    "REDIS_URL": "redis://redis.from-environment.test:6381/0",
}


@pytest.mark.parametrize(("variable", "group"), SERVER_VARIABLES)
@pytest.mark.parametrize("in_environment", [False, True])
def test_the_tests_read_the_server_urls_as_the_app_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    group: type[DatabaseSettings | RedisSettings],
    *,
    in_environment: bool,
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"{variable}={FROM_FILE[variable]}\n")
    if in_environment:
        monkeypatch.setenv(variable, FROM_ENVIRONMENT[variable])
    else:
        monkeypatch.delenv(variable, raising=False)

    app_reads = str(group(_env_file=env_file).url)
    tests_read = configured(variable, "unused default", env_file=env_file)

    assert tests_read == app_reads == (FROM_ENVIRONMENT if in_environment else FROM_FILE)[variable]


def test_without_either_the_tests_use_the_apps_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, _ in SERVER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    missing = tmp_path / ".env"
    assert configured("DATABASE_URL", DEFAULT_DATABASE_URL, env_file=missing) == str(
        DatabaseSettings(_env_file=missing).url
    )
    assert configured("REDIS_URL", DEFAULT_REDIS_URL, env_file=missing) == str(RedisSettings(_env_file=missing).url)
