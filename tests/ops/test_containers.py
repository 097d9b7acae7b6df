"""The container files: `docker-compose.yml`, `Dockerfile` and `.dockerignore` (OPS-2, OPS-4).

There is no Docker engine on the machines these tests run on, so they prove what can be
proven without one:

- Compose itself accepts the file, with and without a `.env`, and the services are wired
  as documented: health checks, named volumes, start order, one shared image, watch rules.
- hadolint finds nothing in the Dockerfile, and its final stage keeps the image rules.
- The build context holds only what the image needs.
- The commands the containers run work: `migrate` and `api` are started on the host exactly
  as Compose defines them, with the Compose host names pointed at the servers the test suite
  uses, a scratch database, and the run's own Redis database.

Building the image itself needs an engine and is not proven here (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from tests.support.database import alembic_config, recreate_database
from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.outages import closed_port

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

SERVICES = {"postgres", "redis", "migrate", "api", "worker", "mailpit"}
APP_SERVICES = ("migrate", "api", "worker")
# Names the containers reach each other by; on the host they are the local servers.
COMPOSE_HOSTS = ("postgres", "redis", "mailpit")

TOOL_TIMEOUT_SECONDS = 60
MIGRATE_TIMEOUT_SECONDS = 120
READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15
POLL_INTERVAL_SECONDS = 0.2


# --- tools ---------------------------------------------------------------------------------------


def tool(name: str) -> Path:
    """A command-line tool from the project's environment (dev dependencies), else from PATH."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is missing: `uv sync` installs it with the dev dependencies")
    return Path(found)


def run_tool(
    command: list[str | Path], *, cwd: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a linter or validator with a bare environment (plus `environment`), so no user config leaks in."""
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)}
    return subprocess.run(  # noqa: S603 - our own tools, fixed arguments
        [str(part) for part in command],
        cwd=cwd,
        env={**bare, **(environment or {})},
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
        check=False,
    )


def compose_config(
    directory: Path, *arguments: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` on a copy of the compose file, so the repository's own `.env` stays out."""
    compose_file = directory / COMPOSE_FILE.name
    shutil.copyfile(COMPOSE_FILE, compose_file)
    return run_tool(
        [tool("docker-compose"), "--project-directory", directory, "--file", compose_file, "config", *arguments],
        cwd=directory,
        environment=environment,
    )


def compose_json(directory: Path, environment: dict[str, str] | None = None) -> dict[str, Any]:
    result = compose_config(directory, "--format", "json", environment=environment)
    assert result.returncode == 0, result.stderr
    assert "level=warning" not in result.stderr, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def unescape(value: str) -> str:
    """Compose writes a literal `$` as `$$` in its output."""
    return value.replace("$$", "$")


@pytest.fixture(scope="module")
def compose_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compose")


@pytest.fixture(scope="module")
def compose(compose_directory: Path) -> dict[str, Any]:
    """The resolved compose model, with no `.env` present."""
    return compose_json(compose_directory)


# --- docker-compose.yml --------------------------------------------------------------------------


def test_compose_accepts_the_file_without_an_env_file(tmp_path: Path) -> None:
    result = compose_config(tmp_path, "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # no warnings either (an obsolete `version:`, an unset variable)


def test_an_env_file_adds_settings_but_cannot_rewire_the_containers(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql+asyncpg://postgres@localhost:5432/service\n"
        "REDIS_URL=redis://localhost:6379/0\n"
        "APP_LOG_LEVEL=DEBUG\n"
        # Single quotes keep a `$` literal for Compose and for pydantic-settings alike.
        "AUTH_JWT_SECRET='k7$Qm2!vX9#pL4@wR8&zT1^yN6*bH3%d'\n"
    )
    with_env = compose_json(tmp_path)

    (tmp_path / ".env").unlink()
    without_env = compose_json(tmp_path)

    for name in APP_SERVICES:
        environment = {key: unescape(value) for key, value in with_env["services"][name]["environment"].items()}
        wired = without_env["services"][name]["environment"]
        assert (
            environment["DATABASE_URL"]
            == wired["DATABASE_URL"]
            == ("postgresql+asyncpg://postgres:postgres@postgres:5432/service")
        )
        assert environment["REDIS_URL"] == wired["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["APP_LOG_LEVEL"] == "DEBUG"
        assert environment["AUTH_JWT_SECRET"] == "k7$Qm2!vX9#pL4@wR8&zT1^yN6*bH3%d"
        assert "APP_LOG_LEVEL" not in wired


def test_every_service_of_the_stack_is_defined(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES
    assert "version" not in compose


def test_the_app_services_share_one_image_built_once_from_this_repository(
    compose: dict[str, Any], compose_directory: Path
) -> None:
    services = compose["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, images
    # Compose builds per service: one builder, or every `up` builds the image once per service.
    builders = [name for name in APP_SERVICES if services[name].get("build")]
    assert builders == ["migrate"]
    assert services["migrate"]["build"] == {"context": str(compose_directory), "dockerfile": "Dockerfile"}
    assert services["migrate"]["pull_policy"] == "build"  # always from this checkout
    for name in APP_SERVICES:
        assert services[name]["environment"] == services["api"]["environment"]
        if name != "migrate":
            # Never looked up on a registry; `up <name>` on a fresh machine gets the image from
            # its dependency `migrate`, which Compose builds before creating any container.
            assert services[name]["pull_policy"] == "never"
            assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


PUBLISHED = {
    ("postgres", 5432): "HOST_PORT_POSTGRES",
    ("redis", 6379): "HOST_PORT_REDIS",
    ("api", 8000): "HOST_PORT_API",
    ("mailpit", 8025): "HOST_PORT_MAILPIT",
    ("mailpit", 1025): "HOST_PORT_SMTP",
}


def published_ports(model: dict[str, Any]) -> dict[tuple[str, int], tuple[str, str]]:
    return {
        (name, port["target"]): (port["host_ip"], port["published"])
        for name, service in model["services"].items()
        for port in service.get("ports") or []
    }


def test_host_ports_default_to_the_standard_ones_on_loopback(compose: dict[str, Any]) -> None:
    assert published_ports(compose) == {key: ("127.0.0.1", str(key[1])) for key in PUBLISHED}


def test_each_host_port_can_be_moved_by_its_variable(tmp_path: Path) -> None:
    moved = {variable: str(18500 + index) for index, variable in enumerate(PUBLISHED.values())}
    ports = published_ports(compose_json(tmp_path, environment=moved))
    assert ports == {key: ("127.0.0.1", moved[variable]) for key, variable in PUBLISHED.items()}


def test_the_shared_environment_wires_the_app_to_the_other_services(compose: dict[str, Any]) -> None:
    environment = compose["services"]["api"]["environment"]
    assert environment == {
        "APP_ENV": "local",
        "DATABASE_URL": "postgresql+asyncpg://postgres:postgres@postgres:5432/service",
        "REDIS_URL": "redis://redis:6379/0",
        "SMTP_HOST": "mailpit",
        "SMTP_PORT": "1025",
        "SMTP_FROM": "Service <no-reply@example.com>",
        # The host's names and the service name other containers use: any other Host is a 400.
        "APP_ALLOWED_HOSTS": '["localhost", "127.0.0.1", "::1", "api"]',
        # Empty unless set for the observability profile (tests/ops/test_observability_profile.py).
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }


@pytest.mark.parametrize(
    ("name", "probe", "data_directory"),
    [("postgres", "pg_isready", "/var/lib/postgresql/data"), ("redis", "redis-cli ping", "/data")],
)
def test_datastores_have_health_checks_and_named_volumes(
    compose: dict[str, Any], name: str, probe: str, data_directory: str
) -> None:
    service = compose["services"][name]
    assert probe in " ".join(service["healthcheck"]["test"])
    mounts = {mount["target"]: mount for mount in service["volumes"]}
    assert mounts[data_directory]["type"] == "volume"
    assert mounts[data_directory]["source"] in compose["volumes"]


def test_redis_keeps_its_data_and_never_evicts(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_services_start_in_order(compose: dict[str, Any]) -> None:
    def conditions(name: str) -> dict[str, str]:
        return {dependency: spec["condition"] for dependency, spec in compose["services"][name]["depends_on"].items()}

    assert conditions("migrate") == {"postgres": "service_healthy"}
    after_migrations = {"migrate": "service_completed_successfully", "redis": "service_healthy"}
    assert conditions("api") == after_migrations
    assert conditions("worker") == after_migrations


def test_migrate_is_a_one_shot_job(compose: dict[str, Any]) -> None:
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate["restart"] == "no"
    assert migrate["healthcheck"] == {"disable": True}


def test_the_worker_runs_arq_and_is_checked_by_arq(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"] == ["python", "-m", "app.worker"]
    assert worker["healthcheck"]["test"] == ["CMD", "arq", "--check", "app.worker.queue.HealthCheck"]


def test_the_light_health_check_reads_the_workers_own_key() -> None:
    """`arq --check` reads `queue_name` + `redis_settings`; HealthCheck must name WorkerSettings' ones."""
    from arq.worker import get_kwargs

    from app.worker import WorkerSettings, queue

    light, full = get_kwargs(cast("Any", queue.HealthCheck)), get_kwargs(cast("Any", WorkerSettings))
    assert light["queue_name"] == full["queue_name"]
    server = ("host", "port", "database", "username", "password", "ssl")
    assert [getattr(light["redis_settings"], key) for key in server] == [
        getattr(full["redis_settings"], key) for key in server
    ]
    assert light.get("health_check_key") == full.get("health_check_key") is None  # derived from the queue name


def test_the_light_health_check_loads_without_the_jobs() -> None:
    probe = (
        "import sys, app.worker.queue\n"
        "sys.exit('app.worker.jobs' in sys.modules or 'app.services.users' in sys.modules)"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr or "app.worker.queue imported the jobs"


def test_fresh_up_wait_is_quick_health_checks_run_every_few_seconds(compose: dict[str, Any]) -> None:
    """`up --wait` returns at the first passing check after each service is ready: intervals bound it."""

    def seconds(duration: str) -> float:
        return float(duration.removesuffix("s"))

    for name in ("postgres", "redis", "api", "worker"):
        assert seconds(compose["services"][name]["healthcheck"]["interval"]) <= 5, name
        assert "start_interval" not in compose["services"][name]["healthcheck"]  # Docker Engine 25+ only


@pytest.mark.parametrize("name", ["api", "worker"])
def test_the_api_and_the_worker_restart_on_code_edits(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    watch = {(rule["action"], Path(rule["path"]).name): rule for rule in service["develop"]["watch"]}
    assert watch.keys() == {("sync+restart", "app")}
    assert watch["sync+restart", "app"]["target"] == "/app/app"
    # `rebuild` needs a `build:` on the same service; Compose refuses it on image-only ones.
    assert "build" not in service


def test_the_api_serves_the_image_command(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert api["command"] is None  # the image's CMD: one serving command, recorded in docs/decisions
    assert api["healthcheck"] == {"interval": "2s"}  # the image's own probe, asked more often


def test_mailpit_shows_the_mail_the_stack_sends(compose: dict[str, Any]) -> None:
    ports = {port["target"] for port in compose["services"]["mailpit"]["ports"]}
    assert ports == {8025, 1025}


# --- Dockerfile ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def flags(self) -> dict[str, str]:
        return dict(
            token.removeprefix("--").partition("=")[::2]
            for token in shlex.split(self.arguments)
            if token.startswith("--")
        )

    def operands(self) -> list[str]:
        return [token for token in shlex.split(self.arguments) if not token.startswith("--")]


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """The instructions of each stage, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        stages[-1].append(instruction)
    return stages


def only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [instruction for instruction in stage if instruction.keyword == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def environment_of(stage: list[Instruction]) -> dict[str, str]:
    pairs = (token.partition("=") for env in stage if env.keyword == "ENV" for token in shlex.split(env.arguments))
    return {key: value for key, _, value in pairs}


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return dockerfile_stages(DOCKERFILE.read_text())


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path: Path) -> None:
    result = run_tool([tool("hadolint"), "--no-color", "--failure-threshold", "style", DOCKERFILE], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_hadolint_does_report_a_broken_dockerfile(tmp_path: Path) -> None:
    """The check above can fail: the same call flags an image that ends as root."""
    broken = tmp_path / "Dockerfile"
    broken.write_text('FROM python:3.11-slim-bookworm\nUSER root\nCMD ["python"]\n')
    result = run_tool([tool("hadolint"), "--no-color", "--failure-threshold", "style", broken], cwd=tmp_path)
    assert result.returncode != 0
    assert "DL3002" in result.stdout


def test_the_builder_installs_locked_dependencies_before_the_code(stages: list[list[Instruction]]) -> None:
    assert len(stages) == 2
    builder = stages[0]
    assert only(builder, "FROM").arguments == "python:3.11-slim-bookworm AS builder"
    copy_uv = builder[1]
    assert copy_uv.keyword == "COPY"
    assert copy_uv.flags() == {"from": "ghcr.io/astral-sh/uv:0.13.9"}
    assert environment_of(builder) == {"UV_COMPILE_BYTECODE": "1", "UV_LINK_MODE": "copy", "UV_PYTHON_DOWNLOADS": "0"}

    runs = [instruction for instruction in builder if instruction.keyword == "RUN"]
    dependencies, project = runs
    assert "uv sync --locked --no-install-project --no-dev" in dependencies.arguments
    for mount in (
        "--mount=type=cache,target=/root/.cache/uv",
        "--mount=type=bind,source=uv.lock,target=uv.lock",
        "--mount=type=bind,source=pyproject.toml,target=pyproject.toml",
    ):
        assert mount in dependencies.arguments
    assert "uv sync --locked --no-dev" in project.arguments
    copy_code = Instruction("COPY", ". /app")
    assert builder.index(dependencies) < builder.index(copy_code) < builder.index(project)


def test_the_final_stage_holds_only_the_venv_and_the_code(stages: list[list[Instruction]]) -> None:
    final = stages[-1]
    assert only(final, "FROM").arguments == "python:3.11-slim-bookworm AS runtime"
    copies = [instruction for instruction in final if instruction.keyword in {"COPY", "ADD"}]
    assert all(copy.keyword == "COPY" and copy.flags()["from"] == "builder" for copy in copies)
    sources = {copy.operands()[0] for copy in copies}
    # pyproject.toml: the version's one home (app/core/version.py), not a build input here.
    assert sources == {"/app/.venv", "/app/app", "/app/migrations", "/app/alembic.ini", "/app/pyproject.toml"}
    # No uv binary and no build tools: the only RUN creates the user.
    assert not any(re.search(r"(^|/)uvx?$", source) or "astral-sh/uv" in source for source in sources)
    run = only(final, "RUN").arguments
    assert run.startswith("groupadd ")
    assert not re.search(r"\b(apt-get|apt|pip|uv|gcc|make)\b", run)


def test_the_final_stage_runs_as_a_numeric_non_root_user(stages: list[list[Instruction]]) -> None:
    user = only(stages[-1], "USER").arguments
    match = re.fullmatch(r"(\d+)(?::(\d+))?", user)
    assert match, f"USER {user} is not numeric"
    assert int(match[1]) != 0
    assert match[2] is None or int(match[2]) != 0


def test_the_final_stage_serves_with_an_exec_form_command_and_checks_its_health(
    stages: list[list[Instruction]],
) -> None:
    final = stages[-1]
    port = only(final, "EXPOSE").arguments
    environment = environment_of(final)
    assert environment["PATH"].startswith("/app/.venv/bin:")
    assert environment["PYTHONPATH"] == "/app"
    assert environment["PYTHONUNBUFFERED"] == "1"

    command = json.loads(only(final, "CMD").arguments)  # exec form: a JSON array, no shell
    assert isinstance(command, list)
    assert command[:2] == ["uvicorn", "app.main:app"]
    assert command[command.index("--port") + 1] == port
    assert command[command.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - inside the container
    assert "--no-server-header" in command  # responses do not name the server software

    options, _, check = only(final, "HEALTHCHECK").arguments.partition(" CMD ")
    assert options.startswith("--")
    probe = json.loads(check)  # exec form too
    assert probe[:2] == ["python", "-c"]
    assert f"http://127.0.0.1:{port}/health/live" in probe[2]
    assert not any(instruction.keyword == "ENTRYPOINT" for instruction in final)


# --- .dockerignore -------------------------------------------------------------------------------


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, pattern) per line, translated the way Docker's pattern matcher does."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        pattern = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        expression = ""
        index = 0
        while index < len(pattern):
            char = pattern[index]
            if pattern.startswith("**", index):
                index += 2
                if pattern.startswith("/", index):
                    index += 1
                expression += ".*" if index >= len(pattern) else "(.*/)?"
                continue
            if char == "*":
                expression += "[^/]*"
            elif char == "?":
                expression += "[^/]"
            elif char == "[":
                end = pattern.index("]", index)
                expression += pattern[index : end + 1]
                index = end
            else:
                expression += re.escape(char)
            index += 1
        rules.append((exception, re.compile(expression)))
    return rules


def in_build_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    excluded = False
    for exception, pattern in rules:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            excluded = not exception
    return not excluded


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    rules = dockerignore_rules(DOCKERIGNORE.read_text())
    top_level = {entry.name for entry in REPO_ROOT.iterdir() if in_build_context(entry.name, rules)}
    assert top_level == {"pyproject.toml", "uv.lock", "alembic.ini", "app", "migrations"}

    needed = ["app/main.py", "app/core/config.py", "migrations/env.py", "migrations/versions/x.py"]
    left_out = [
        ".env",
        ".env.production",
        ".venv/bin/python",
        ".git/HEAD",
        "tests/conftest.py",
        "docs/operations.md",
        "bench/run.py",
        "node_modules/x/index.js",
        ".coverage",
        "app/__pycache__/main.cpython-311.pyc",
        "migrations/versions/__pycache__/x.cpython-311.pyc",
        "app/core/config.pyc",
    ]
    assert [path for path in needed if not in_build_context(path, rules)] == []
    assert [path for path in left_out if in_build_context(path, rules)] == []


# --- the containers' commands, run on the host ---------------------------------------------------


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str


@dataclass
class HostProcess:
    """A service's command running on the host; its output is collected while it runs."""

    service: str
    command: list[str]
    environment: dict[str, str]
    process: asyncio.subprocess.Process
    chunks: list[bytes] = field(default_factory=list)

    def output(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def option(self, name: str) -> str:
        return self.command[self.command.index(name) + 1]


def host_value(key: str, value: str, *, database_url: str, redis_url: str) -> str:
    """One compose environment value, pointed at the servers the test suite uses."""
    value = unescape(value)
    if key == "DATABASE_URL":
        driver = make_url(value).drivername
        assert driver == "postgresql+asyncpg"
        return make_url(database_url).set(drivername=driver).render_as_string(hide_password=False)
    if key == "REDIS_URL":
        return redis_url
    return "127.0.0.1" if value in COMPOSE_HOSTS else value


@dataclass(frozen=True)
class HostStack:
    """The compose model, with a scratch database and the run's Redis standing in for `postgres` and `redis`."""

    compose: dict[str, Any]
    database_url: str
    redis_url: str

    def command(self, service: str) -> list[str]:
        """What the container would run: the compose `command`, else the image's CMD."""
        definition = self.compose["services"][service]
        assert definition["entrypoint"] is None
        command: list[str] = definition["command"] or image_command()
        return [str(VENV_BIN / command[0]), *command[1:]]

    def environment(self, service: str) -> dict[str, str]:
        """The service's compose environment on the host, plus what the image's ENV sets."""
        environment = {
            key: host_value(key, value, database_url=self.database_url, redis_url=self.redis_url)
            for key, value in self.compose["services"][service]["environment"].items()
        }
        pointing_at_containers = {
            key: value
            for key, value in environment.items()
            for host in COMPOSE_HOSTS
            if value == host or re.search(rf"(//|@){host}([:/]|$)", value)
        }
        assert not pointing_at_containers, f"teach host_value about {pointing_at_containers}"
        inherited = {key: os.environ[key] for key in ("HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
        return {
            **inherited,
            # The image's ENV, with the repository standing in for /app.
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            **environment,
        }


def image_command() -> list[str]:
    command: list[str] = json.loads(only(dockerfile_stages(DOCKERFILE.read_text())[-1], "CMD").arguments)
    return command


async def _collect(stream: asyncio.StreamReader | None, chunks: list[bytes]) -> None:
    assert stream is not None
    while chunk := await stream.read(65536):
        chunks.append(chunk)


@asynccontextmanager
async def host_process(service: str, command: list[str], environment: dict[str, str]) -> AsyncIterator[HostProcess]:
    """Start a service's command from the repository root (the image's WORKDIR); kill what is left on exit."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=REPO_ROOT,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group: uvicorn's workers go with it
    )
    running = HostProcess(service, command, environment, process)
    collector = asyncio.create_task(_collect(process.stdout, running.chunks))
    try:
        yield running
    finally:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        await collector


async def run_to_completion(service: str, command: list[str], environment: dict[str, str]) -> Finished:
    async with host_process(service, command, environment) as running:
        try:
            async with asyncio.timeout(MIGRATE_TIMEOUT_SECONDS):
                returncode = await running.process.wait()
        except TimeoutError:
            pytest.fail(f"{service} did not finish within {MIGRATE_TIMEOUT_SECONDS}s:\n{running.output()}")
    return Finished(returncode, running.output())


async def _drop_database(database_url: str) -> None:
    url = make_url(database_url)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def host_stack(compose: dict[str, Any]) -> AsyncIterator[HostStack]:
    """A scratch database of this run's own (`<test database>_compose`), dropped at the end."""
    test_database = make_url(database_url_for_tests())
    database_url = test_database.set(database=f"{test_database.database}_compose")
    stack = HostStack(compose, database_url.render_as_string(hide_password=False), redis_url_for_tests())
    await recreate_database(stack.database_url)
    try:
        yield stack
    finally:
        await _drop_database(stack.database_url)


@pytest.fixture(scope="module")
async def migration(host_stack: HostStack) -> Finished:
    """The `migrate` service's command, run once against the scratch database."""
    return await run_to_completion("migrate", host_stack.command("migrate"), host_stack.environment("migrate"))


@pytest.mark.slow
async def test_the_migrate_command_brings_a_fresh_database_to_head(host_stack: HostStack, migration: Finished) -> None:
    assert migration.returncode == 0, migration.output
    head = ScriptDirectory.from_config(alembic_config(host_stack.database_url)).get_current_head()
    url = make_url(host_stack.database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        assert await connection.fetchval("SELECT version_num FROM alembic_version") == head
    finally:
        await connection.close()


@dataclass(frozen=True)
class LongRunning:
    """How to run one long-running service on the host, tell that it is ready, and tell that it stopped well."""

    service: str
    for_the_host: Callable[[list[str]], list[str]]
    until_ready: Callable[[HostStack, HostProcess], Awaitable[None]]
    clean_exit_code: Callable[[list[str]], int]
    shut_down_cleanly: Callable[[HostProcess], None]


def _on_a_free_port(command: list[str]) -> list[str]:
    """The container's command, listening on a port nobody else uses here instead of 8000."""
    adapted = list(command)
    adapted[adapted.index("--port") + 1] = str(closed_port())
    return adapted


async def _api_answers_ready(stack: HostStack, api: HostProcess) -> None:
    url = f"http://127.0.0.1:{api.option('--port')}/health/ready"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    response: httpx.Response | None = None
    async with httpx.AsyncClient(timeout=2) as client:
        while response is None or response.status_code != 200:
            if api.process.returncode is not None:
                pytest.fail(f"api exited with {api.process.returncode} before it was ready:\n{api.output()}")
            if loop.time() > deadline:
                pytest.fail(f"api was not ready within {READY_TIMEOUT_SECONDS}s ({response}):\n{api.output()}")
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
            with suppress(httpx.TransportError):
                response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def _uvicorn_workers(command: list[str]) -> int:
    return int(command[command.index("--workers") + 1]) if "--workers" in command else 1


def _uvicorn_clean_exit_code(command: list[str]) -> int:
    # uvicorn's supervisor (--workers > 1) exits 0 after SIGTERM; a single server process shuts down
    # gracefully and then re-raises the signal, which ends it with that signal (143 in a container).
    return 0 if _uvicorn_workers(command) > 1 else -signal.SIGTERM


def _every_api_process_closed_its_resources(api: HostProcess) -> None:
    output = api.output()
    # Each worker's lifespan shutdown ran to the end.
    assert output.count("resources closed") == _uvicorn_workers(api.command), output
    assert "Traceback" not in output, output


API = LongRunning(
    service="api",
    for_the_host=_on_a_free_port,
    until_ready=_api_answers_ready,
    clean_exit_code=_uvicorn_clean_exit_code,
    shut_down_cleanly=_every_api_process_closed_its_resources,
)


def _as_it_is(command: list[str]) -> list[str]:
    return command


async def _worker_passes_its_health_check(stack: HostStack, worker: HostProcess) -> None:
    """What the compose health check runs: `arq --check` exits 0 once the worker wrote its health key."""
    _, program, *arguments = stack.compose["services"]["worker"]["healthcheck"]["test"]  # "CMD", "arq", ...
    # The worker's own command names the project's Python; arq is installed beside it.
    check = [str(Path(worker.command[0]).with_name(program)), *arguments]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_SECONDS
    while True:
        if worker.process.returncode is not None:
            pytest.fail(f"worker exited with {worker.process.returncode} before it was healthy:\n{worker.output()}")
        probe = await asyncio.create_subprocess_exec(
            *check,
            cwd=REPO_ROOT,
            env=worker.environment,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await probe.wait() == 0:
            return
        if loop.time() > deadline:
            pytest.fail(f"`arq --check` failed for {READY_TIMEOUT_SECONDS}s:\n{worker.output()}")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


def _worker_stopped_its_relay_and_resources(worker: HostProcess) -> None:
    output = worker.output()
    assert "worker stopped" in output, output
    assert "resources closed" in output, output
    assert "Traceback" not in output, output


WORKER = LongRunning(
    service="worker",
    for_the_host=_as_it_is,
    until_ready=_worker_passes_its_health_check,
    clean_exit_code=lambda _command: 0,  # arq finishes (or waits for) running jobs and exits 0 on SIGTERM
    shut_down_cleanly=_worker_stopped_its_relay_and_resources,
)


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(API, id="api"), pytest.param(WORKER, id="worker")])
async def test_a_long_running_service_starts_serves_and_stops_on_sigterm(
    host_stack: HostStack, migration: Finished, case: LongRunning
) -> None:
    assert migration.returncode == 0, f"the migrate command failed:\n{migration.output}"
    command = case.for_the_host(host_stack.command(case.service))
    async with host_process(case.service, command, host_stack.environment(case.service)) as running:
        await case.until_ready(host_stack, running)
        running.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                returncode = await running.process.wait()
        except TimeoutError:
            pytest.fail(f"{case.service} did not stop within {STOP_TIMEOUT_SECONDS}s:\n{running.output()}")
    assert returncode == case.clean_exit_code(command), running.output()
    case.shut_down_cleanly(running)
