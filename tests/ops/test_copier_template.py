"""`copier copy` generates a working service from this repository, and `copier update` later
brings the template's changes into it without losing the service's own edits.

The template is a snapshot of this working tree committed in a temporary repository, so the
test sees uncommitted changes too; the generated project is a git repository of its own, as a
team's would be. uv runs offline: everything it needs is already in the cache this run uses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 300
GIT_IDENTITY = ["-c", "user.name=Template Test", "-c", "user.email=template-test@example.com"]
ENVIRONMENT = {**os.environ, "UV_OFFLINE": "1", "GIT_TERMINAL_PROMPT": "0"}

# The generated project's own test run: its own database and Redis database, never this run's.
GENERATED_TEST_DATABASE = "copier_generated_test"
GENERATED_TEST_REDIS_DB = "8"
GENERATED_TESTS = ["tests/api/test_health.py", "tests/test_version.py", "tests/test_env_example.py"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="copier needs git"),
]


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - fixed commands on temporary folders
        [str(part) for part in command],
        cwd=cwd,
        env=env or ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def git(*arguments: str, cwd: Path) -> str:
    return run("git", *GIT_IDENTITY, *arguments, cwd=cwd)


def copier(*arguments: str | Path, cwd: Path) -> str:
    return run(sys.executable, "-m", "copier", *arguments, "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=cwd)


def snapshot_of_this_tree(destination: Path) -> Path:
    """Every file git would commit from this working tree, committed in a repository of its own."""
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=REPO_ROOT)
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "--quiet", cwd=destination)
    git("add", "--all", cwd=destination)
    git("commit", "--quiet", "--message", "template", cwd=destination)
    return destination


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_of_this_tree(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def generated(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("generated") / "orders-api"
    copier("copy", "--data", "service_name=orders-api", "--data", "author=Team Orders <orders@example.com>",
           template, project, cwd=project.parent)  # fmt: skip
    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "--message", "Generated from the template", cwd=project)
    return project


def test_copy_records_its_answers_and_names_the_project(generated: Path) -> None:
    answers = yaml.safe_load((generated / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["service_name"] == "orders-api"
    assert answers["project_name"] == "Orders Api"
    assert answers["_commit"]
    pyproject = (generated / "pyproject.toml").read_text(encoding="utf-8")
    assert 'name = "orders-api"' in pyproject
    assert 'description = "Orders Api: a service built from the reference FastAPI template."' in pyproject
    assert 'authors = [{ name = "Team Orders", email = "orders@example.com" }]' in pyproject
    assert 'name = "orders-api"' in (generated / "uv.lock").read_text(encoding="utf-8")
    # The template's own machinery stays behind; no Jinja file is left in the service.
    assert not (generated / "copier.yml").exists()
    assert not list(generated.rglob("*.jinja"))


def test_the_generated_project_passes_its_own_tests(generated: Path) -> None:
    environment = {
        **ENVIRONMENT,
        "TEST_DATABASE_NAME": GENERATED_TEST_DATABASE,
        "TEST_REDIS_DB": GENERATED_TEST_REDIS_DB,
        "VIRTUAL_ENV": "",
    }
    # `-n 0`: three files need no workers, and starting two (each importing the app and migrating a
    # database of its own) cost ~35 of this test's ~50 s. The same tests run on the same generated code;
    # the xdist harness itself is the one this run uses.
    output = run("uv", "run", "--frozen", "pytest", "--no-cov", "-n", "0", "-q", "-p", "no:cacheprovider",
                 *GENERATED_TESTS, cwd=generated, env=environment)  # fmt: skip
    assert " passed" in output


def test_update_brings_template_changes_and_keeps_local_edits(template: Path, generated: Path) -> None:
    # The service edits a module, and a line the template will change too.
    scopes = generated / "app" / "core" / "scopes.py"
    scopes.write_text(scopes.read_text(encoding="utf-8") + "# A scope of this service's own.\n", encoding="utf-8")
    health = generated / "app" / "api" / "health.py"
    health.write_text(health.read_text(encoding="utf-8").replace('"""Liveness', '"""Local: liveness', 1), "utf-8")
    git("commit", "--quiet", "--all", "--message", "Local edits", cwd=generated)

    # Later, the template changes a shared module, the same line, and adds a migration.
    errors = template / "app" / "core" / "errors.py"
    errors.write_text(errors.read_text(encoding="utf-8") + "# A fix from the template.\n", encoding="utf-8")
    template_health = template / "app" / "api" / "health.py"
    template_health.write_text(
        template_health.read_text(encoding="utf-8").replace('"""Liveness', '"""Template: liveness', 1), "utf-8"
    )
    migration = template / "migrations" / "versions" / "2099_01_01_0000-template_fix.py"
    migration.write_text('"""A migration the template added later."""\n', encoding="utf-8")
    git("add", "--all", cwd=template)
    git("commit", "--quiet", "--message", "A template fix", cwd=template)

    copier("update", cwd=generated)

    fixed = (generated / "app" / "core" / "errors.py").read_text(encoding="utf-8")
    assert fixed.endswith("# A fix from the template.\n")
    assert (generated / "migrations" / "versions" / migration.name).exists()
    assert scopes.read_text(encoding="utf-8").endswith("# A scope of this service's own.\n")
    both = health.read_text(encoding="utf-8")
    assert '"""Local: liveness' in both
    assert '"""Template: liveness' in both
    assert "<<<<<<< before updating" in both
    # The service's names survive the update: the template's are never reintroduced.
    assert 'name = "orders-api"' in (generated / "pyproject.toml").read_text(encoding="utf-8")
    status = git("status", "--porcelain", cwd=generated)
    assert "pyproject.toml" not in status
    assert "uv.lock" not in status
    answers = yaml.safe_load((generated / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == git("rev-parse", "--short", "HEAD", cwd=template).strip()
