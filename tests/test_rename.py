"""`scripts/rename.py`, the first command a team runs on its copy of the template.

Every test renames a copy of the repository in a temporary folder, never this checkout.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# PyYAML comes with uvicorn[standard] and ships no type stubs.
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT_TIMEOUT_SECONDS = 120

# Unlike any name a service would give itself, so the renaming always has something to change.
NAME = "acme-orders-api"
TITLE = "Acme Orders API"
DATABASE = "acme_orders_api"

# What each file must say after the renaming.
EXPECTED = {
    "pyproject.toml": [f'name = "{NAME}"', f'description = "{TITLE}"'],
    "uv.lock": [f'name = "{NAME}"\nversion = "0.1.0"\nsource = {{ virtual = "." }}'],
    "app/core/config.py": [
        f'name: str = "{NAME}"',
        f'PostgresDsn("postgresql+asyncpg://postgres@localhost:5432/{DATABASE}")',
        f'jwt_issuer: str = "{NAME}"',
        f'jwt_audience: str = "{NAME}"',
        f'= "{TITLE} <no-reply@example.com>"',
    ],
    "app/db/engine.py": [f'application_name: str = "{NAME}"'],
    "app/services/webhook_delivery.py": [f'USER_AGENT = "{NAME}-webhooks/1.0"'],
    "app/worker/context.py": [f'CONTEXT_KEY = "{NAME}"'],
    "bench/common.py": [
        f'"BENCH_DATABASE", "{DATABASE}_bench"',
        f'"postgresql+asyncpg://postgres@localhost:5432/{DATABASE}"',
    ],
    "bench/ceiling/app.py": [
        f"5432/{DATABASE}_bench",
        f'"AUTH_JWT_ISSUER", "{NAME}"',
        f'"AUTH_JWT_AUDIENCE", "{NAME}"',
    ],
    "bench/seed.py": [f"`{DATABASE}_bench`"],
    "docker-compose.yml": [
        f"DATABASE_URL: postgresql+asyncpg://postgres:postgres@postgres:5432/{DATABASE}",
        f"POSTGRES_DB: {DATABASE}",
        f"--dbname={DATABASE}",
        f"image: {NAME}:local",
        f"SMTP_FROM: {TITLE} <no-reply@example.com>",
    ],
    "Dockerfile": [f'org.opencontainers.image.title="{NAME}"'],
    ".github/workflows/ci.yml": [
        f"DATABASE_URL: postgresql+asyncpg://postgres:postgres@localhost:5432/{DATABASE}",
        f"POSTGRES_DB: {DATABASE}",
        f"--dbname={DATABASE}",
    ],
    "tests/support/environment.py": [
        f'DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@localhost:5432/{DATABASE}"',
        f"url.database or '{DATABASE}'",
    ],
    "tests/ops/test_containers.py": [f"postgres:5432/{DATABASE}", f'"SMTP_FROM": "{TITLE} <no-reply@example.com>"'],
}
# Files a service may have dropped; when present, the same holds.
EXPECTED_WHEN_PRESENT = {
    "bench/README.md": [f"localhost:5432/{DATABASE}`", f"`{DATABASE}_bench`"],
    "README.md": [f"# {TITLE}\n"],
    ".env.example": [
        f"APP_NAME={NAME}\n",
        f"DATABASE_URL=postgresql+asyncpg://postgres@localhost:5432/{DATABASE}\n",
        f"AUTH_JWT_ISSUER={NAME}\n",
        f"AUTH_JWT_AUDIENCE={NAME}\n",
        f"SMTP_FROM={TITLE} <no-reply@example.com>\n",
    ],
}


# The template's own name where code uses it as a name (quoted, or after a `/`), in each form it takes.
TEMPLATE_NAME = re.compile(r"[\"'`/]service(_bench|_test[a-z_]*|-api|-webhooks|-worker|-cli)?[\"'`]")
# Outside tests/ (whose fixtures name throw-away databases): every file the running service, its
# container, its benchmarks and its scripts read.
NAMED_IN = ("app/", "bench/", "scripts/", "migrations/", "Dockerfile", "docker-compose.yml", "pyproject.toml", ".env")
# Lines where the word is just a word.
NOT_NAMES = {'"service",'}  # bench/seed.py: a word in the seeded posts


def copy_of_the_repository(destination: Path) -> Path:
    """The files a clone would hold, plus work not committed yet (new files included, ignored ones not)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def rename(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(root / "scripts" / "rename.py"), *arguments],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )


def git(root: Path, *arguments: str) -> None:
    subprocess.run(  # noqa: S603 - git with fixed arguments
        ["git", "-c", "user.name=Rename Test", "-c", "user.email=rename@example.com", *arguments],  # noqa: S607
        cwd=root,
        capture_output=True,
        check=True,
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_of_the_repository(tmp_path / "repository")


@pytest.mark.slow
def test_renames_the_project_everywhere_and_lists_each_changed_file(copy: Path) -> None:
    before = snapshot(copy)

    result = rename(copy, NAME, TITLE, "--force")

    assert result.returncode == 0, result.stderr
    after = snapshot(copy)
    changed = {path for path in after if after[path] != before.get(path)}
    listed = [line.removeprefix("changed ") for line in result.stdout.splitlines()]
    assert sorted(listed) == sorted(changed)
    present = {path: fragments for path, fragments in EXPECTED_WHEN_PRESENT.items() if path in after}
    for path, fragments in {**EXPECTED, **present}.items():
        text = after[path].decode()
        for fragment in fragments:
            assert fragment in text, f"{path} should contain {fragment!r}"

    leftovers = [
        f"{path}: {line.strip()}"
        for path, content in after.items()
        if path.startswith(NAMED_IN) and not path.endswith((".pyc", ".lock"))
        for line in content.decode(errors="replace").splitlines()
        if TEMPLATE_NAME.search(line) and line.strip() not in NOT_NAMES
    ]
    assert leftovers == [], "the template's name is left in:\n" + "\n".join(leftovers)

    document = json.loads(after["docs/openapi.json"])
    assert document["info"]["title"] == NAME
    # The renamed document is still what the renamed app builds.
    exported = copy / "exported.json"
    export = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-m", "scripts.export_openapi", "--output", str(exported)],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )
    assert export.returncode == 0, export.stderr
    assert json.loads(exported.read_text())["info"] == document["info"]

    for path in ("docker-compose.yml", ".github/workflows/ci.yml"):
        assert isinstance(yaml.safe_load(after[path]), dict), f"{path} no longer parses"


@pytest.mark.slow
def test_running_it_again_changes_nothing(copy: Path) -> None:
    assert rename(copy, NAME, TITLE, "--force").returncode == 0
    renamed = snapshot(copy)

    again = rename(copy, NAME, TITLE, "--force")

    assert again.returncode == 0, again.stderr
    assert again.stdout == f"nothing to change: the project is already named {NAME} ({TITLE})\n"
    assert snapshot(copy) == renamed


@pytest.mark.slow
def test_refuses_a_tree_with_uncommitted_changes_unless_forced(copy: Path) -> None:
    git(copy, "init", "--quiet")
    git(copy, "add", "--all")
    git(copy, "commit", "--quiet", "--message", "template")
    with (copy / "app" / "core" / "config.py").open("a") as config:
        config.write("# work in progress\n")
    before = snapshot(copy)

    refused = rename(copy, NAME, TITLE)

    assert refused.returncode == 2
    assert "uncommitted changes" in refused.stderr
    assert "app/core/config.py" in refused.stderr
    assert snapshot(copy) == before

    git(copy, "commit", "--quiet", "--all", "--message", "work in progress")
    assert rename(copy, NAME, TITLE).returncode == 0, "a clean tree needs no --force"


@pytest.mark.parametrize("name", ["Orders", "orders_api", "1orders", "orders--api", "-orders", "orders-", "", "x" * 41])
def test_refuses_a_name_that_is_not_a_lowercase_slug(copy: Path, name: str) -> None:
    before = snapshot(copy)

    # `--`: a name such as `-orders` must reach the script's check, not read as an option.
    result = rename(copy, "--force", "--", name, TITLE)

    assert result.returncode == 2
    assert "NAME must be a lowercase slug" in result.stderr
    assert snapshot(copy) == before


@pytest.mark.parametrize("title", ["", "Orders: API", 'Orders "API"', "Orders <API>", "# Orders"])
def test_refuses_a_title_that_would_break_a_file(copy: Path, title: str) -> None:
    before = snapshot(copy)

    result = rename(copy, NAME, title, "--force")

    assert result.returncode == 2
    assert "TITLE must be" in result.stderr
    assert snapshot(copy) == before
