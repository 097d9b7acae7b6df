"""Migrations round-trip and agree with the models (DB-6, DB-7)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from app.db.base import Base
from tests.support.database import alembic_config, recreate_database
from tests.support.environment import database_url_for_tests

VERSIONS = Path("migrations/versions")


@pytest.fixture(scope="module")
def scratch_database_url() -> str:
    url = make_url(database_url_for_tests())
    scratch = url.set(database=f"{url.database}_migrations").render_as_string(hide_password=False)
    asyncio.run(recreate_database(scratch))
    return scratch


def test_upgrade_downgrade_upgrade(scratch_database_url: str) -> None:
    config = alembic_config(scratch_database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")


def test_models_match_the_migrated_schema(scratch_database_url: str) -> None:
    config = alembic_config(scratch_database_url)
    command.upgrade(config, "head")
    command.check(config)  # raises when autogenerate would find a difference


def test_one_head_and_date_slug_file_names() -> None:
    scripts = ScriptDirectory.from_config(alembic_config(database_url_for_tests()))
    assert len(scripts.get_heads()) == 1
    for path in VERSIONS.glob("*.py"):
        assert path.name[:16].replace("_", "").replace("-", "").isdigit(), path.name  # YYYY_MM_DD_HHMM-slug


def test_every_constraint_and_index_is_named_by_the_convention() -> None:
    for table in Base.metadata.sorted_tables:
        for item in [*table.constraints, *table.indexes]:
            assert getattr(item, "name", None), f"unnamed {type(item).__name__} on {table.name}"


def test_every_versioned_table_has_its_version_trigger(scratch_database_url: str) -> None:
    """A model with `VersionedMixin` relies on the migration's trigger to raise `version` on UPDATE."""
    command.upgrade(alembic_config(scratch_database_url), "head")
    versioned = {
        mapper.persist_selectable.description for mapper in Base.registry.mappers if mapper.version_id_col is not None
    }
    assert versioned >= {"post", "user"}

    async def triggered_tables() -> set[str]:
        connection = await asyncpg.connect(
            make_url(scratch_database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            rows = await connection.fetch(
                "SELECT tgrelid::regclass::text AS name FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgfoid = 'bump_row_version'::regproc"
            )
        finally:
            await connection.close()
        return {row["name"].strip('"') for row in rows}

    assert asyncio.run(triggered_tables()) == versioned
