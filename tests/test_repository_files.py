"""The files that run the checks outside pytest: the GitHub workflow and the pre-commit hooks (OPS-8).

Neither GitHub nor the hooks run here, so these tests prove what can be read from the files:
the workflow runs `.ci/run` against health-checked PostgreSQL and Redis with pinned tools and
least privilege, a second job builds the generated client, and every pre-commit hook runs the
project's own tools through uv, with no hook repository to fetch.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

# PyYAML comes with uvicorn[standard] and ships no type stubs.
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
PRE_COMMIT_CONFIG = REPO_ROOT / ".pre-commit-config.yaml"
CI_SCRIPT = REPO_ROOT / ".ci" / "run"
DOCKERFILE = REPO_ROOT / "Dockerfile"

EXACT_VERSION = re.compile(r"^v?\d+(\.\d+)*$")


def load(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{path.name} is not a YAML mapping"
    return loaded


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    return load(WORKFLOW)


@pytest.fixture(scope="module")
def hooks() -> list[dict[str, Any]]:
    config = load(PRE_COMMIT_CONFIG)
    assert all(repo["repo"] == "local" for repo in config["repos"]), "a hook repository would be cloned"
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = job["steps"]
    return found


def job_running(workflow: dict[str, Any], command: str) -> dict[str, Any]:
    jobs: list[dict[str, Any]] = [
        job for job in workflow["jobs"].values() if any(step.get("run") == command for step in steps(job))
    ]
    assert len(jobs) == 1, f"expected one job running `{command}`, found {len(jobs)}"
    return jobs[0]


def action(job: dict[str, Any], name: str) -> dict[str, Any]:
    used = [step for step in steps(job) if step.get("uses", "").partition("@")[0] == name]
    assert len(used) == 1, f"expected the job to use {name} once"
    return used[0]


def dockerfile_uv_version() -> str:
    match = re.search(r"ghcr\.io/astral-sh/uv:(\S+)", DOCKERFILE.read_text(encoding="utf-8"))
    assert match is not None, "the Dockerfile no longer copies uv from its image"
    return match[1]


# --- .github/workflows/ci.yml --------------------------------------------------------------------


def test_the_workflow_runs_on_pushes_and_pull_requests(workflow: dict[Any, Any]) -> None:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    triggers = workflow["on"] if "on" in workflow else workflow[True]
    assert {"push", "pull_request"} <= set(triggers)


def test_the_workflow_only_reads_the_repository(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert "permissions" not in job, "a job widens the token's permissions"
        assert action(job, "actions/checkout")["with"]["persist-credentials"] is False


def test_a_newer_run_cancels_the_superseded_one(workflow: dict[str, Any]) -> None:
    concurrency = workflow["concurrency"]
    assert "github.ref" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True


def test_every_action_is_pinned_to_a_release(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        for step in steps(job):
            if "uses" in step:
                _, _, ref = step["uses"].partition("@")
                assert EXACT_VERSION.match(ref) or re.fullmatch(r"[0-9a-f]{40}", ref), step["uses"]


def test_ci_runs_the_same_script_as_every_other_machine(workflow: dict[str, Any]) -> None:
    job = job_running(workflow, "bash .ci/run")
    run_steps = [step["run"] for step in steps(job) if "run" in step]
    assert run_steps == ["bash .ci/run"], "CI steps belong in .ci/run, where every machine runs them"


@pytest.mark.parametrize(
    ("service", "image", "probe"), [("postgres", "postgres:15", "pg_isready"), ("redis", "redis:7", "redis-cli ping")]
)
def test_the_datastores_are_health_checked_service_containers(
    workflow: dict[str, Any], service: str, image: str, probe: str
) -> None:
    definition = job_running(workflow, "bash .ci/run")["services"][service]
    assert definition["image"].startswith(image)
    options = shlex.split(definition["options"])
    health_command = options[options.index("--health-cmd") + 1]
    assert probe in health_command
    assert "--health-interval" in options
    assert "--health-retries" in options


def test_the_tests_reach_the_service_containers(workflow: dict[str, Any]) -> None:
    job = job_running(workflow, "bash .ci/run")
    postgres = job["services"]["postgres"]
    environment = job["env"]
    user, password, database = (postgres["env"][key] for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"))
    assert environment["DATABASE_URL"] == f"postgresql+asyncpg://{user}:{password}@localhost:5432/{database}"
    assert postgres["ports"] == ["5432:5432"]
    assert environment["REDIS_URL"] == "redis://localhost:6379/0"
    assert job["services"]["redis"]["ports"] == ["6379:6379"]


@pytest.mark.parametrize("command", ["bash .ci/run", "bash scripts/generate_sdk.sh"])
def test_uv_and_python_are_pinned_and_cached(workflow: dict[str, Any], command: str) -> None:
    setup_uv = action(job_running(workflow, command), "astral-sh/setup-uv")
    settings = setup_uv["with"]
    assert settings["version"] == dockerfile_uv_version(), "CI and the image must run the same uv"
    assert settings["python-version"] == "3.11"
    assert settings["enable-cache"] is True


def test_a_job_builds_the_generated_client_with_node_20(workflow: dict[str, Any]) -> None:
    job = job_running(workflow, "bash scripts/generate_sdk.sh")
    node = action(job, "actions/setup-node")["with"]
    assert node["node-version"] == "20"
    assert node["cache-dependency-path"] == "scripts/sdk/package-lock.json"
    assert "services" not in job, "generating the client needs no server"


# --- .pre-commit-config.yaml ---------------------------------------------------------------------


def test_a_job_runs_the_compose_stack_and_the_smoke_script(workflow: dict[str, Any]) -> None:
    job = job_running(workflow, "bash scripts/compose_smoke.sh")
    commands = [step.get("run", "") for step in steps(job)]
    up = commands.index("docker compose up -d --wait --wait-timeout 300")
    assert up < commands.index("bash scripts/compose_smoke.sh")
    # The stack is taken down whatever happened, and its logs are kept when something failed.
    teardown = {step.get("run"): step.get("if") for step in steps(job) if step.get("if")}
    assert teardown == {"docker compose logs --no-color": "failure()", "docker compose down -v": "always()"}


def test_the_smoke_script_is_valid_bash() -> None:
    result = subprocess.run(  # noqa: S603 - bash from PATH checks our own script
        ["bash", "-n", str(REPO_ROOT / "scripts" / "compose_smoke.sh")],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_hook_runs_a_project_tool_through_uv(hooks: list[dict[str, Any]]) -> None:
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]
        # `uv run` uses the versions uv.lock pins; `uv lock --check` is uv itself.
        assert re.search(r"(^|[\s'])uv (run|lock)\b", hook["entry"]), hook["id"]


def test_the_hooks_cover_what_ci_checks(hooks: list[dict[str, Any]]) -> None:
    entries = " ".join(hook["entry"] for hook in hooks)
    for tool in ("ruff check", "ruff format", "mypy", "lint-imports", "uv lock --check"):
        assert tool in entries, f"no hook runs {tool}"
    ci_script = CI_SCRIPT.read_text(encoding="utf-8")
    for tool in ("ruff check", "ruff format", "mypy", "lint-imports"):
        assert f"uv run {tool}" in ci_script, f".ci/run no longer runs {tool}: keep the hooks in step"


def test_a_hook_keeps_the_openapi_document_current(hooks: list[dict[str, Any]]) -> None:
    [hook] = [hook for hook in hooks if "scripts.export_openapi" in hook["entry"]]
    assert "git diff --exit-code docs/openapi.json" in hook["entry"]
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "app/api/v1/users.py")


# --- .github/dependabot.yml ------------------------------------------------------------------------


def test_dependabot_groups_each_ecosystem_weekly() -> None:
    config = load(REPO_ROOT / ".github" / "dependabot.yml")
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    # The lock file, the workflow's actions, the Dockerfile's base image, compose's images, the SDK toolchain.
    assert {"uv", "github-actions", "docker", "docker-compose", "npm"} <= set(updates)
    for ecosystem, update in updates.items():
        assert update["schedule"]["interval"] == "weekly", ecosystem
        groups = update["groups"].values()
        assert any(group["patterns"] == ["*"] for group in groups), f"{ecosystem}: one group takes every update"
        directories = update.get("directories", [update.get("directory")])
        assert all((REPO_ROOT / directory.lstrip("/")).is_dir() for directory in directories), ecosystem


def test_ci_audits_dependencies_and_builds_the_sbom(workflow: dict[Any, Any]) -> None:
    script = CI_SCRIPT.read_text(encoding="utf-8")
    assert "bash scripts/audit_dependencies.sh" in script
    assert "bash scripts/sbom.sh" in script
    job = job_running(workflow, "bash .ci/run")
    assert job["env"]["AUDIT_REQUIRED"] == "1", "on GitHub the advisory service is reachable: the audit must run"
    upload = action(job, "actions/upload-artifact")
    assert upload["with"]["path"] == job["env"]["SBOM_OUTPUT"]
