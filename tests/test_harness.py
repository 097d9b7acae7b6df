"""The test run itself: it stops at once, with one clear message, when a service is missing; its
workers never share a database or a Redis database; it fits in PostgreSQL's connection limit."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import QueuePool

from app.core.config import DatabaseSettings, RedisSettings, Settings
from app.db.base import Base
from app.resources import Resources
from tests.support.database import empty_all_tables
from tests.support.environment import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    TEST_MAX_WORKERS,
    TEST_POOL_OVERFLOW,
    TEST_POOL_SIZE,
    TEST_REDIS_DB,
    configured,
    database_url_for_tests,
)
from tests.support.factories import create_user
from tests.support.outages import closed_port
from tests.support.schedule import SLOWEST_FILES

# PostgreSQL's default, shared on a development machine with everything else that runs there.
POSTGRES_MAX_CONNECTIONS = 100
# A worker's tests start at most one process at a time that uses the database as hard as the app
# (the arq worker in tests/worker/test_durability.py), with the same caps.
CONNECTIONS_OF_STARTED_PROCESSES = TEST_POOL_SIZE + TEST_POOL_OVERFLOW


@pytest.mark.slow
def test_run_stops_quickly_with_instructions_when_services_are_unreachable() -> None:
    port = closed_port()
    broken = {
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/service",
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_config.py"],
        env={**os.environ, **broken},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert f"PostgreSQL at postgresql://postgres@127.0.0.1:{port}/postgres did not answer" in output
    assert f"Redis at redis://127.0.0.1:{port}/{TEST_REDIS_DB} did not answer" in output
    assert "docker compose up -d postgres redis" in output
    assert "Traceback" not in output
    # Stopped at session start, before collecting anything or starting a worker. A run that waited
    # on a connection instead would hit `timeout` above; no wall-clock bound here, since the suite's
    # own workers share the machine with this child (measured 4-6 s alone, 36-44 s under load).
    assert "collected" not in output
    assert "bringing up nodes" not in output


async def test_each_worker_runs_on_a_database_and_a_redis_database_of_its_own(resources: Resources) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    async with resources.engine.connect() as connection:
        database = await connection.scalar(text("SELECT current_database()"))
    assert database == make_url(database_url_for_tests()).database
    assert resources.redis.connection_pool.connection_kwargs["db"] == TEST_REDIS_DB
    if worker is not None:  # under xdist (the default run)
        assert database.endswith(f"_test_{worker}")
        first = int(os.environ.get("TEST_REDIS_DB", "15"))
        assert resources.redis.connection_pool.connection_kwargs["db"] == first - int(worker.removeprefix("gw"))


async def test_emptying_after_a_test_leaves_every_table_as_a_fresh_migration_would(
    resources: Resources, db_session: AsyncSession, settings: Settings
) -> None:
    # The per-test clean-up deletes rows (tests/support/database.py): that equals TRUNCATE ... RESTART
    # IDENTITY only while no table owns a sequence; a serial or identity column would need a restart too.
    async with resources.engine.connect() as connection:
        sequences = list(await connection.scalars(text("SELECT sequencename FROM pg_sequences")))
    assert sequences == []
    await create_user(db_session, settings)
    await empty_all_tables(resources.engine)
    async with resources.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            assert await connection.scalar(text(f'SELECT count(*) FROM "{table.name}"')) == 0, table.name  # noqa: S608


def test_a_whole_run_fits_in_postgres_default_max_connections(resources: Resources) -> None:
    addopts: list[str] = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["pytest"]["addopts"]
    assert addopts[addopts.index("-n") + 1] == "auto"  # capped at TEST_MAX_WORKERS by tests/conftest.py
    workers = TEST_MAX_WORKERS
    pool = resources.engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow) == (TEST_POOL_SIZE, TEST_POOL_OVERFLOW)
    per_worker = TEST_POOL_SIZE + TEST_POOL_OVERFLOW + CONNECTIONS_OF_STARTED_PROCESSES
    assert workers * per_worker <= POSTGRES_MAX_CONNECTIONS // 2, "leave half for everything else on the server"


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


def test_the_slowest_files_run_first_and_each_exists() -> None:
    # The schedule names files by path: a renamed or deleted one must leave the list too.
    repository = Path(__file__).resolve().parents[1]
    missing = [name for name in SLOWEST_FILES if not (repository / name).is_file()]
    assert not missing, f"tests/support/schedule.py lists files that do not exist: {missing}"
    assert len(set(SLOWEST_FILES)) == len(SLOWEST_FILES)
    addopts = tomllib.loads((repository / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["addopts"]
    # Without it xdist reorders the files by number of tests, whatever the collection order.
    assert "--no-loadscope-reorder" in addopts
