"""Where the tests find PostgreSQL and Redis, and the settings the app under test runs with.

The run is spread over pytest-xdist workers; each worker is a run of its own, with a database
(`<name>_test_gw0`, `<name>_test_gw1`, ...) and a Redis database (15, 14, ...) nobody else empties.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

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

HOW_TO_START = """\
The tests need PostgreSQL and Redis. Start them, then run `uv run pytest` again:
  docker compose up -d postgres redis
or point DATABASE_URL / REDIS_URL at running servers (defaults: localhost:5432, localhost:6379)."""


def base_database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def database_url_for_tests() -> str:
    """The configured server, with a database of the run's own: `<name>_test`, `<name>_test_gw0`, ..."""
    url = make_url(base_database_url())
    name = os.environ.get("TEST_DATABASE_NAME", f"{url.database or 'service'}_test")
    if WORKER:
        name = f"{name}_{WORKER}"
    return url.set(database=name).render_as_string(hide_password=False)


def redis_url_for_tests() -> str:
    base = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    return base._replace(path=f"/{TEST_REDIS_DB}").geturl()


def settings_for_tests(**groups: object) -> Settings:
    """Settings for the app under test, independent of the developer's `.env`."""
    defaults: dict[str, object] = {
        "app": AppSettings(_env_file=None, env=Environment.TEST),
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
