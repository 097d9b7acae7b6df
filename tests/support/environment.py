"""Where the tests find PostgreSQL and Redis, and the settings the app under test runs with.

One rule for `.env`, the app's: the environment first, then `.env` at the repository root,
then the defaults. The tests read only where the servers are (`DATABASE_URL`, `REDIS_URL`)
that way; on those servers they use a database and a Redis database of their own, and every
other setting of the app under test comes from `settings_for_tests`, never from `.env`.

The run is spread over pytest-xdist workers; each worker is a run of its own, with a database
(`<name>_test_gw0`, `<name>_test_gw1`, ...) and a Redis database (15, 14, ...) nobody else empties.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import PostgresDsn, RedisDsn
from sqlalchemy.engine import make_url

from app.core.config import (
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    Environment,
    RateLimitSettings,
    RedisSettings,
    Settings,
    WebhookSettings,
)

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@localhost:5432/service"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"
# xdist names its workers gw0, gw1, ...; unset in a run without workers (`-n 0`, `-p no:xdist`).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER.removeprefix("gw")) if WORKER else 0
# A Redis database of its own, flushed between tests; never the one the app uses locally (db 0).
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15")) - WORKER_INDEX
if TEST_REDIS_DB < 1:
    raise RuntimeError(f"too many test workers for Redis's 16 databases: {WORKER} would use db {TEST_REDIS_DB}")

# At most this many xdist workers (`-n auto` is capped in tests/conftest.py): Redis has 16 databases,
# and PostgreSQL's connections are shared with everything else on the server.
TEST_MAX_WORKERS = 4
# Every worker's app holds at most this many connections, so a run of `TEST_MAX_WORKERS` workers plus the
# processes its tests start stays far below PostgreSQL's default max_connections (100), which a
# development server shares with everything else on it (tests/test_harness.py adds it up).
TEST_POOL_SIZE = 4
TEST_POOL_OVERFLOW = 2
# `testserver` is the host httpx's ASGITransport sends; loopback is where served tests listen.
TEST_ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

HOW_TO_START = """\
The tests need PostgreSQL and Redis. Start them, then run `uv run pytest` again:
  docker compose up -d postgres redis
or point DATABASE_URL / REDIS_URL (in the environment or in .env) at running servers
(defaults: localhost:5432, localhost:6379)."""


ENV_FILE = Path(__file__).resolve().parents[2] / ".env"


def configured(variable: str, default: str, *, env_file: Path = ENV_FILE) -> str:
    """`variable` as the app's settings would read it: the environment, then `.env`, then `default`."""
    if variable in os.environ:
        return os.environ[variable]
    from_file = dotenv_values(env_file).get(variable) if env_file.is_file() else None
    return from_file or default


def base_database_url() -> str:
    return configured("DATABASE_URL", DEFAULT_DATABASE_URL)


def database_url_for_tests() -> str:
    """The configured server, with a database of the run's own: `<name>_test`, `<name>_test_gw0`, ..."""
    url = make_url(base_database_url())
    name = os.environ.get("TEST_DATABASE_NAME", f"{url.database or 'service'}_test")
    if WORKER:
        name = f"{name}_{WORKER}"
    return url.set(database=name).render_as_string(hide_password=False)


def redis_url_for_tests() -> str:
    base = urlsplit(configured("REDIS_URL", DEFAULT_REDIS_URL))
    return base._replace(path=f"/{TEST_REDIS_DB}").geturl()


def settings_for_tests(**groups: object) -> Settings:
    """Settings for the app under test, independent of the developer's `.env`."""
    defaults: dict[str, object] = {
        "app": AppSettings(_env_file=None, env=Environment.TEST, allowed_hosts=TEST_ALLOWED_HOSTS),
        "database": DatabaseSettings(
            _env_file=None,
            url=PostgresDsn(database_url_for_tests()),
            pool_size=TEST_POOL_SIZE,
            max_overflow=TEST_POOL_OVERFLOW,
        ),
        "redis": RedisSettings(_env_file=None, url=RedisDsn(redis_url_for_tests())),
        # The cheapest argon2id parameters: hashing cost is measured in bench/, not paid in every test.
        "auth": AuthSettings(_env_file=None, argon2_memory_kib=1024, argon2_time_cost=1),
        "rate_limit": RateLimitSettings(_env_file=None),
        "webhooks": WebhookSettings(_env_file=None, allow_private_targets=True),
    }
    return Settings.model_validate({**defaults, **groups})
