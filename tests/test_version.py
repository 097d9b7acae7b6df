"""The version lives in one place, `[project] version` in pyproject.toml, and everything shows that one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import httpx

from app.core.version import read_version

REPO_ROOT = Path(__file__).resolve().parents[1]
CHANGELOG = REPO_ROOT / "CHANGELOG.md"
# Keep a Changelog: `## [1.2.0] - 2026-11-30`, newest first, after `## [Unreleased]`.
RELEASE_HEADING = re.compile(r"^## \[(?P<version>\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)


def pyproject_version() -> str:
    version: str = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    return version


def test_the_version_is_read_from_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "9.8.7"\n', encoding="utf-8")
    assert read_version(pyproject) == "9.8.7"
    assert read_version() == pyproject_version()


async def test_the_openapi_document_and_liveness_show_it(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    live = (await client.get("/health/live")).json()
    assert document["info"]["version"] == live["version"] == pyproject_version()


def test_the_changelog_has_an_entry_for_the_current_version() -> None:
    text = CHANGELOG.read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n")
    assert "## [Unreleased]" in text
    released = RELEASE_HEADING.findall(text)
    assert released, "CHANGELOG.md has no release heading like `## [0.1.0] - 2026-11-30`"
    assert released[0] == pyproject_version(), "the newest release in CHANGELOG.md must be pyproject's version"
    assert f"[{released[0]}]: " in text, "every release heading needs its link reference at the bottom"
