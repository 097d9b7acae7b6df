from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.config import Settings
from app.main import create_app
from app.resources import Resources
from tests.conftest import BASE_URL
from tests.support import probes


@pytest.fixture(scope="session")
async def probe_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app plus the test-only probe routes, with a lifespan of its own."""
    application = create_app(settings)
    application.include_router(probes.router)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def probe_client(probe_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=probe_app), base_url=BASE_URL) as client:
        yield client
    probe_app.dependency_overrides.clear()


@pytest.fixture
async def probe_table(resources: Resources) -> AsyncIterator[str]:
    """A table whose constraints are only checked at COMMIT, to make commit itself fail."""
    async with resources.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE txn_parent (id int PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO txn_parent SELECT generate_series(1, 10)"))
        await connection.execute(
            text(
                f"CREATE TABLE {probes.PROBE_TABLE} ("
                " id serial PRIMARY KEY,"
                " ref int NOT NULL REFERENCES txn_parent (id) DEFERRABLE INITIALLY DEFERRED,"
                " CONSTRAINT uq_txn_probe_ref UNIQUE (ref) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    yield probes.PROBE_TABLE
    async with resources.engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE {probes.PROBE_TABLE}, txn_parent"))
