"""Where the tests find PostgreSQL and Redis, and the settings the app under test runs with."""

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
# A Redis database of its own, flushed between tests; never the one the app uses locally.
TEST_REDIS_DB = int(os.environ.get("TEST_REDIS_DB", "15"))
# `testserver` is the host httpx's ASGITransport sends; loopback is where served tests listen.
TEST_ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

HOW_TO_START = """\
The tests need PostgreSQL and Redis. Start them, then run `uv run pytest` again:
  docker compose up -d postgres redis
or point DATABASE_URL / REDIS_URL at running servers (defaults: localhost:5432, localhost:6379)."""


def base_database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def database_url_for_tests() -> str:
    """The configured server, with a database of the run's own: `<name>_test`."""
    url = make_url(base_database_url())
    name = os.environ.get("TEST_DATABASE_NAME", f"{url.database or 'service'}_test")
    return url.set(database=name).render_as_string(hide_password=False)


def redis_url_for_tests() -> str:
    base = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    return base._replace(path=f"/{TEST_REDIS_DB}").geturl()


def settings_for_tests(**groups: object) -> Settings:
    """Settings for the app under test, independent of the developer's `.env`."""
    defaults: dict[str, object] = {
        "app": AppSettings(_env_file=None, env=Environment.TEST, allowed_hosts=TEST_ALLOWED_HOSTS),
        "database": DatabaseSettings(_env_file=None, url=PostgresDsn(database_url_for_tests())),
        "redis": RedisSettings(_env_file=None, url=RedisDsn(redis_url_for_tests())),
        # The cheapest argon2id parameters: hashing cost is measured in bench/, not paid in every test.
        "auth": AuthSettings(_env_file=None, argon2_memory_kib=1024, argon2_time_cost=1),
        "rate_limit": RateLimitSettings(_env_file=None),
        "webhooks": WebhookSettings(_env_file=None, allow_private_targets=True),
    }
    return Settings.model_validate({**defaults, **groups})
