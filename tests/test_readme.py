"""README.md's commands work as written.

- "Try it without Docker" is run end to end, command by command, in order: a new database is
  created and migrated, the SMTP sink, the API and the worker are started as the README starts
  them, the curl tour signs up, gets a token and publishes a post, and the welcome e-mail shows
  up in the sink's output. Only what a test must change is changed: the database name (a fresh
  one on the test server), the API and SMTP ports (free ones), and `uv run X` runs this
  environment's `X` directly (the same program, without `uv` re-checking the environment).
- Every other command the README names resolves: its program, module, script, CLI subcommand
  or Compose service exists; `python -m app.cli --help` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from app.cli import parser as cli_parser
from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.outages import closed_port

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
README_API = "http://127.0.0.1:8000"
README_SMTP = "127.0.0.1:1025"
START_TIMEOUT_SECONDS = 60
MAIL_TIMEOUT_SECONDS = 30


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def commands(block: str) -> list[str]:
    """One command per logical line: continuations joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]


def argv(command: str) -> list[str]:
    """`uv run X ...` as this environment's X; anything else as written."""
    words = shlex.split(command)
    if words[:2] == ["uv", "run"]:
        program = words[2]
        return [sys.executable if program == "python" else str(VENV_BIN / program), *words[3:]]
    return words


# --- "Try it without Docker", end to end -----------------------------------------------------------


@pytest.fixture
async def fresh_database_url() -> AsyncIterator[str]:
    """A database name nobody uses yet, on the test server; dropped afterwards."""
    url = make_url(database_url_for_tests())
    name = f"{url.database}_readme_{uuid.uuid4().hex[:8]}"
    yield url.set(database=name).render_as_string(hide_password=False)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def run_each(lines: list[str], environment: dict[str, str]) -> None:
    for command in lines:
        if command == "uv sync":
            continue  # what made this environment
        result = subprocess.run(  # noqa: S603 - the README's own commands
            argv(command), cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=180, check=False
        )
        assert result.returncode == 0, f"`{command}` failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.slow
async def test_try_it_without_docker_works_as_written(fresh_database_url: str, tmp_path: Path) -> None:
    setup, servers, tour = bash_blocks(section("Try it without Docker"))
    api_port, smtp_port = closed_port(), closed_port()
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("APP_", "SMTP_", "DATABASE_"))},
        "DATABASE_URL": fresh_database_url,
        "REDIS_URL": redis_url_for_tests(),
        "SMTP_PORT": str(smtp_port),
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
    }

    await asyncio.to_thread(run_each, commands(setup), environment)

    processes: list[asyncio.subprocess.Process] = []
    logs: list[Path] = []
    try:
        for index, command in enumerate(commands(servers)):
            words = argv(command.replace(README_SMTP, f"127.0.0.1:{smtp_port}"))
            if words[1:2] == ["dev"]:  # fastapi dev
                words += ["--port", str(api_port)]
            logs.append(tmp_path / f"server-{index}.log")
            with logs[-1].open("wb") as sink:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        *words,
                        cwd=REPO_ROOT,
                        env=environment,
                        stdout=sink,
                        stderr=asyncio.subprocess.STDOUT,
                        start_new_session=True,  # a process group: reloaders take their children along
                    )
                )
        api = f"http://127.0.0.1:{api_port}"
        await wait_until_ready(api, processes, logs)

        script = "set -euo pipefail\n" + tour.replace(README_API, api)
        result = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-c", script],
            cwd=REPO_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"status":"published"' in result.stdout.replace(" ", ""), result.stdout
        *_, public_list = result.stdout.strip().splitlines()
        assert '"title":"Hello"' in public_list.replace(" ", ""), public_list

        smtp_log, _, worker_log = logs
        deadline = time.monotonic() + MAIL_TIMEOUT_SECONDS
        while "ada@example.com" not in read(smtp_log):
            assert time.monotonic() < deadline, f"no mail in the sink:\n{read(smtp_log)}\n{read(worker_log)[-3000:]}"
            await asyncio.sleep(0.5)
        assert "Welcome" in read(smtp_log)
    finally:
        for process in processes:
            signal_group(process, signal.SIGINT)  # Ctrl+C in each terminal
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                signal_group(process, signal.SIGKILL)
                await process.wait()


def signal_group(process: asyncio.subprocess.Process, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


async def wait_until_ready(api: str, processes: list[asyncio.subprocess.Process], logs: list[Path]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=api, timeout=2) as client:
        while True:
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            for process, log in zip(processes, logs, strict=True):
                assert process.returncode is None, f"exited early:\n{read(log)[-3000:]}"
            assert time.monotonic() < deadline, "\n---\n".join(read(log)[-2000:] for log in logs)
            await asyncio.sleep(0.3)


# --- every other command resolves ------------------------------------------------------------------


def named_commands() -> list[str]:
    """Every command the README shows: in code blocks, and in backticks that start with a runner."""
    text = README.read_text(encoding="utf-8")
    found = [command for block in bash_blocks(text) for command in commands(block)]
    found += re.findall(r"`((?:uv run|uvx|bash|docker compose) [^`]+)`", text)
    return found


def compose_services() -> set[str]:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return set(compose["services"])


def cli_subcommands() -> set[str]:
    return {
        name
        for action in cli_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def resolves_uv_run(words: list[str]) -> str | None:
    if words[0] != "python":
        return None if (VENV_BIN / words[0]).exists() else f"program {words[0]}"
    if words[1] != "-m":
        return None if (REPO_ROOT / words[1]).is_file() else f"script {words[1]}"
    module = words[2]
    if importlib.util.find_spec(module) is None:
        return f"module {module}"
    if module == "app.cli" and words[3] not in cli_subcommands():
        return f"app.cli subcommand {words[3]}"
    return None


def resolves_compose(words: list[str]) -> str | None:
    services = compose_services()
    if words[0] == "exec":
        return None if words[1] in services else f"compose service {words[1]}"
    unknown = [word for word in words[1:] if not word.startswith("-") and word not in services]
    return f"compose services {unknown}" if words[0] == "up" and unknown else None


def resolves(command: str) -> str | None:  # noqa: PLR0911 - one answer per kind of command
    """None when every part of `command` exists; else what is missing."""
    if command.startswith(("curl ", "TOKEN=", "-d ", "|")):
        return None  # the tour's HTTP calls: run by the end-to-end test above
    words = shlex.split(command)
    while "=" in words[0]:  # VARIABLE=value command ...
        words = words[1:]
    match words:
        case ["uv", "sync", *_]:
            return None
        case ["uv", "run", *rest]:
            return resolves_uv_run(rest)
        case ["uvx", "pre-commit", *_]:
            return None if (REPO_ROOT / ".pre-commit-config.yaml").is_file() else "the pre-commit configuration"
        case ["uvx", "copier", *_]:
            return None if (REPO_ROOT / "copier.yml").is_file() else "the copier template (copier.yml)"
        case ["bash", script, *_]:
            return None if (REPO_ROOT / script).is_file() else f"script {script}"
        case ["docker", "compose", *rest]:
            return resolves_compose(rest)
    return f"an unknown kind of command: {command}"


def test_every_command_in_the_readme_resolves() -> None:
    found = named_commands()
    assert len(found) > 20, found
    missing = {command: problem for command in found if (problem := resolves(command)) is not None}
    assert missing == {}


def test_resolving_does_find_a_missing_command() -> None:
    """The check above can fail."""
    assert resolves("uv run python -m app.cli no-such-command") == "app.cli subcommand no-such-command"
    assert resolves("uv run no-such-program") == "program no-such-program"
    assert resolves("docker compose exec nowhere true") is not None
    assert resolves("bash scripts/no_such_script.sh") == "script scripts/no_such_script.sh"


def test_the_cli_explains_itself() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for subcommand in ("create-database", "create-superuser", "promote"):
        assert subcommand in result.stdout
