"""Behind PgBouncer in transaction mode, with `DATABASE_PGBOUNCER=true` (docs/scaling.md#pgbouncer).

A real PgBouncer (Debian's package) with fewer server connections than the app's pool, so
consecutive transactions of one client connection land on different server connections.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest
from pydantic import PostgresDsn
from sqlalchemy import text

from app.core.config import DatabaseSettings
from app.db.engine import create_engine
from tests.support.environment import base_database_url, database_url_for_tests
from tests.support.pgbouncer import HOW_TO_INSTALL, pgbouncer_binary, pgbouncer_in_front_of

pytestmark = pytest.mark.skipif(pgbouncer_binary() is None, reason=HOW_TO_INSTALL)

# A slice of the API suite: sign-up, tokens, posts (keyset pages, ETags, writes), webhooks.
API_SLICE = [
    "tests/api/test_signup.py",
    "tests/api/test_tokens.py",
    "tests/api/test_posts.py",
    "tests/api/test_webhooks.py",
]
PYTEST = [sys.executable, "-m", "pytest", "--no-cov", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]


async def concurrent_queries(settings: DatabaseSettings) -> list[int]:
    engine = create_engine(settings)
    try:

        async def one(number: int) -> int:
            async with engine.connect() as connection:
                # Parameters make asyncpg prepare a statement; the same SQL again would reuse it.
                for _ in range(5):
                    value = await connection.scalar(text("SELECT CAST(:n AS int) + 1"), {"n": number})
                return int(value)

        return list(await asyncio.gather(*(one(number) for number in range(20))))
    finally:
        await engine.dispose()


async def test_prepared_statements_survive_transaction_pooling() -> None:
    async with pgbouncer_in_front_of(database_url_for_tests()) as url:
        settings = DatabaseSettings(_env_file=None, url=PostgresDsn(url), pgbouncer=True, pool_size=10)
        assert await concurrent_queries(settings) == [number + 1 for number in range(20)]


async def test_without_the_setting_the_same_engine_fails() -> None:
    async with pgbouncer_in_front_of(database_url_for_tests()) as url:
        settings = DatabaseSettings(_env_file=None, url=PostgresDsn(url), pgbouncer=False, pool_size=10)
        with pytest.raises(Exception):  # noqa: B017, PT011 - PgBouncer refuses the startup settings; asyncpg's errors vary
            await concurrent_queries(settings)


@pytest.mark.slow
async def test_a_slice_of_the_api_suite_passes_through_pgbouncer() -> None:
    async with pgbouncer_in_front_of(base_database_url(), pool_size=5) as url:
        environment = {
            **os.environ,
            "DATABASE_URL": url,
            "DATABASE_PGBOUNCER": "true",
            # A database and a Redis database of its own: the outer run's stay untouched.
            "TEST_DATABASE_NAME": "service_pgbouncer_test",
            "TEST_REDIS_DB": "14",
        }
        completed = await asyncio.to_thread(
            subprocess.run,
            [*PYTEST, *API_SLICE],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-3000:]
    assert completed.returncode == 0, completed.stdout[-6000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed is not None, summary
    assert int(passed[1]) >= 50, summary  # the slice ran, not a collection error or an empty run
    assert "failed" not in summary
    assert "skipped" not in summary
