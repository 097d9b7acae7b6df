"""`python -m app.cli`: create-superuser (password from stdin, idempotent, SPEC §1), promote,
create-database; and `alembic upgrade head` where the database or its server is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import PostgresDsn
from sqlalchemy.engine import make_url

from app import cli
from app.core.config import DatabaseSettings, Settings
from tests.support.environment import database_url_for_tests
from tests.support.factories import UserCreateFactory
from tests.support.outages import closed_port

PASSWORD = "correct-horse-battery-staple"
VENV_BIN = Path(sys.executable).parent


def run_cli(*args: str, stdin: str = "", database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        env={**os.environ, "DATABASE_URL": database_url or database_url_for_tests(), "APP_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_alembic(database_url: str) -> subprocess.CompletedProcess[str]:
    """`alembic upgrade head` as the README runs it: the alembic script, DATABASE_URL from the environment."""
    return subprocess.run(  # noqa: S603 - the project's own alembic, fixed arguments
        [str(VENV_BIN / "alembic"), "upgrade", "head"],
        env={**os.environ, "DATABASE_URL": database_url, "APP_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def scopes_of(client: httpx.AsyncClient, email: str, password: str) -> set[str]:
    tokens = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    return set(tokens.json()["scope"].split())


@pytest.mark.slow
async def test_create_superuser_reads_the_password_from_stdin(client: httpx.AsyncClient) -> None:
    first = run_cli("create-superuser", "root@example.com", stdin=PASSWORD + "\n")
    assert first.returncode == 0, first.stderr
    assert "Created superuser root@example.com" in first.stdout

    again = run_cli("create-superuser", "ROOT@example.com", stdin="another-password-entirely\n")
    assert again.returncode == 0, again.stderr
    assert "already exists; nothing was changed" in again.stdout
    assert "python -m app.cli promote" in again.stdout  # the way to make an existing account an admin

    tokens = await client.post("/v1/auth/token", data={"username": "root@example.com", "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    assert set(tokens.json()["scope"].split()) == {"posts:write", "users:read", "users:write"}
    # The operator vouches for the address: the first administrator is verified from the start.
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {tokens.json()['access_token']}"})
    assert me.json()["email_verified"] is True


@pytest.mark.slow
def test_a_password_on_the_command_line_is_refused() -> None:
    result = run_cli("create-superuser", "root@example.com", "--password", PASSWORD, stdin="")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.mark.slow
def test_a_weak_password_is_refused() -> None:
    result = run_cli("create-superuser", "root@example.com", stdin="hunter2\n")
    assert result.returncode == 2
    assert "password: String should have at least 12 characters" in result.stderr
    assert "hunter2" not in result.stderr


ADMIN_SCOPES = {"posts:write", "users:read", "users:write"}


@pytest.mark.slow
async def test_promote_makes_an_existing_account_an_administrator(client: httpx.AsyncClient) -> None:
    account = UserCreateFactory.build()
    assert (await client.post("/v1/auth/signup", json=account.model_dump())).status_code == 201
    assert await scopes_of(client, account.email, account.password) == {"posts:write"}

    promoted = run_cli("promote", account.email.upper())

    assert promoted.returncode == 0, promoted.stderr
    assert "is now an administrator" in promoted.stdout
    assert await scopes_of(client, account.email, account.password) == ADMIN_SCOPES

    again = run_cli("promote", account.email)
    assert again.returncode == 0, again.stderr
    assert "already an administrator; nothing was changed" in again.stdout
    assert await scopes_of(client, account.email, account.password) == ADMIN_SCOPES


@pytest.mark.slow
def test_promote_names_an_unknown_account_and_fails() -> None:
    result = run_cli("promote", "nobody@example.com")
    assert result.returncode == 1
    assert "No account uses the e-mail nobody@example.com" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_promote_refuses_what_is_not_an_email() -> None:
    result = run_cli("promote", "not-an-email")
    assert result.returncode == 2
    assert result.stderr.startswith("Invalid input: email:")


@pytest.fixture
async def missing_database() -> AsyncIterator[str]:
    """The URL of a database that does not exist yet on the test server; dropped afterwards."""
    url = make_url(database_url_for_tests())
    name = f"{url.database}_new_{uuid.uuid4().hex[:8]}"
    yield url.set(database=name).render_as_string(hide_password=False)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.mark.slow
def test_migrating_a_missing_database_says_how_to_create_it(missing_database: str) -> None:
    result = run_alembic(missing_database)

    assert result.returncode == 1
    assert "does not exist" in result.stderr
    assert "uv run python -m app.cli create-database" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_migrating_with_no_server_says_so() -> None:
    result = run_alembic(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/service")

    assert result.returncode == 1
    assert "No PostgreSQL server answers at 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_create_database_then_migrate(missing_database: str) -> None:
    created = run_cli("create-database", database_url=missing_database)
    assert created.returncode == 0, created.stderr
    assert "Created the database" in created.stdout

    again = run_cli("create-database", database_url=missing_database)
    assert again.returncode == 0, again.stderr
    assert "already exists; nothing was changed" in again.stdout

    migrated = run_alembic(missing_database)
    assert migrated.returncode == 0, migrated.stderr


@pytest.mark.slow
def test_create_database_with_no_server_says_so() -> None:
    result = run_cli("create-database", database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")
    assert result.returncode == 1
    assert "No PostgreSQL server answers" in result.stderr
    assert "Traceback" not in result.stderr


async def test_promote_in_process_grants_the_scopes_once(client: httpx.AsyncClient, settings: Settings) -> None:
    """The same command without a subprocess, so the service code it runs counts for coverage."""
    account = UserCreateFactory.build()
    assert (await client.post("/v1/auth/signup", json=account.model_dump())).status_code == 201

    assert "is now an administrator" in await cli.promote(settings, account.email)
    assert "already an administrator" in await cli.promote(settings, account.email)
    assert await scopes_of(client, account.email, account.password) == ADMIN_SCOPES
    with pytest.raises(cli.CommandFailed, match="No account uses the e-mail"):
        await cli.promote(settings, "nobody@example.com")


async def test_create_database_in_process(settings: Settings, missing_database: str) -> None:
    fresh = settings.model_copy(
        update={"database": DatabaseSettings(_env_file=None, url=PostgresDsn(missing_database))}
    )
    assert "Created the database" in await cli.create_the_database(fresh)
    assert "already exists" in await cli.create_the_database(fresh)
