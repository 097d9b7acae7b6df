"""`python -m app.cli create-superuser EMAIL`: password from stdin, idempotent (SPEC §1)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.support.environment import database_url_for_tests

PASSWORD = "correct-horse-battery-staple"


def run_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        env={**os.environ, "DATABASE_URL": database_url_for_tests(), "APP_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
async def test_create_superuser_reads_the_password_from_stdin(client: httpx.AsyncClient) -> None:
    first = run_cli("create-superuser", "root@example.com", stdin=PASSWORD + "\n")
    assert first.returncode == 0, first.stderr
    assert "Created superuser root@example.com" in first.stdout

    again = run_cli("create-superuser", "ROOT@example.com", stdin="another-password-entirely\n")
    assert again.returncode == 0, again.stderr
    assert "already exists; nothing was changed" in again.stdout

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
