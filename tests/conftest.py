"""The harness every test uses.

- Before anything runs, PostgreSQL and Redis must answer; otherwise the run stops
  at once with one message saying how to start them.
- The tests are spread over pytest-xdist workers (`-n auto` in `pyproject.toml`: one per
  CPU, at most four), whole files at a time, the slowest files first
  (`tests/support/schedule.py`). Each
  worker is a run of its own: its own database, built once by `alembic upgrade head`,
  and its own Redis database (`tests/support/environment.py`).
- One app (and one lifespan) serves each worker; each test gets a fresh
  `httpx.AsyncClient` over `ASGITransport`.
- After every test: all tables are emptied, the worker's Redis database is flushed
  and `app.dependency_overrides` is cleared.
- Every app a test builds logs through the test pipeline, which `caplog` reads, whatever
  its environment; the deployed pipeline is tested in a process of its own
  (tests/core/test_logging.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app import main
from app.core.config import Environment, Settings
from app.core.logging import configure_logging
from app.main import create_app
from app.resources import Resources
from tests.support.database import create_migrated_database, empty_all_tables
from tests.support.environment import (
    HOW_TO_START,
    TEST_MAX_WORKERS,
    database_url_for_tests,
    redis_url_for_tests,
    settings_for_tests,
)
from tests.support.schedule import slowest_files_first
from tests.support.services import unreachable_services

BASE_URL = "http://testserver"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    # One worker per CPU: measured on 2 cores, 2 workers beat 4 (docs/performance.md). The cap keeps
    # a run within Redis's databases and a fair share of PostgreSQL's connections.
    return min(TEST_MAX_WORKERS, os.cpu_count() or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The slowest files first, so the run does not end on one of them alone (tests/support/schedule.py).
    slowest_files_first(items)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        # The run's own process (xdist's controller, or the only process with `-n 0`): it stops the
        # run with one message before any worker starts.
        problems = unreachable_services(database_url_for_tests(), redis_url_for_tests())
        if problems:
            pytest.exit("\n".join([*problems, "", HOW_TO_START]), returncode=pytest.ExitCode.USAGE_ERROR)
    if _runs_tests(session.config):
        create_migrated_database(database_url_for_tests())


def _runs_tests(config: pytest.Config) -> bool:
    """False in xdist's controller, which only hands tests to its workers."""
    return hasattr(config, "workerinput") or config.getoption("numprocesses", None) in (None, 0)


@pytest.fixture(scope="session", autouse=True)
def _test_logging() -> Iterator[None]:
    # structlog caches each logger on first use: one production app built in this process
    # would otherwise keep our loggers on the bytes pipeline, out of `caplog`'s reach.
    def configure_for_tests(env: Environment, level: str = "INFO") -> None:
        configure_logging(Environment.TEST, level)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(main, "configure_logging", configure_for_tests)
        yield


@pytest.fixture(scope="session")
def settings() -> Settings:
    return settings_for_tests()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def resources(app: FastAPI) -> Resources:
    resources: Resources = app.state.resources
    return resources


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
async def db_session(resources: Resources) -> AsyncIterator[AsyncSession]:
    """A session for arranging and inspecting data directly; commit what requests must see."""
    async with resources.session_factory() as session:
        yield session


@pytest.fixture
def redis(resources: Resources) -> Redis:
    return resources.redis


@pytest.fixture(autouse=True)
async def _isolate(app: FastAPI, resources: Resources) -> AsyncIterator[None]:
    yield
    app.dependency_overrides.clear()
    await empty_all_tables(resources.engine)
    await resources.redis.flushdb()
