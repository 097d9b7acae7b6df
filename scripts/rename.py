"""Give a service started from this template its own name, everywhere the template names itself.

    python3 scripts/rename.py orders-api "Orders API"

NAME (a lowercase slug) becomes the package name, the app's name (and with it the prefix of
every Redis key: queue, jobs, rate limits), the OpenAPI title, the image tag, the JWT issuer and
audience, the webhooks' User-Agent, the worker's context key, the benchmarks' defaults and,
with `-` as `_`, the database name; TITLE becomes the
description, the README heading and the display name on outgoing mail. Each change is made
only where this script knows the template's exact line, and a line it cannot find stops it
before any file is written. Running it again with the same arguments changes nothing.

Standard library only, so it runs before `uv sync`; it ends with `uv lock` to rename the
project in uv.lock too. See docs/starting-a-new-service.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[1]

SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# The longest database name the project derives, `<name>_test_mutants`, must fit PostgreSQL's 63 bytes.
MAX_SLUG_LENGTH = 40
# Inserted unquoted into YAML and inside double quotes in TOML and Python: no quotes, colons or `#`.
TITLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,&'()+-]*$")
MAX_TITLE_LENGTH = 60


Part = Literal["slug", "title", "database", "audience"]


@dataclass(frozen=True)
class Names:
    slug: str
    title: str

    def part(self, part: Part) -> str:
        # Unquoted PostgreSQL identifiers cannot contain `-`.
        database = self.slug.replace("-", "_")
        # The JWT audience names the API: `orders` -> `orders-api`, but `orders-api` stays itself.
        audience = self.slug if self.slug.endswith("-api") else f"{self.slug}-api"
        return {"slug": self.slug, "title": self.title, "database": database, "audience": audience}[part]


@dataclass(frozen=True)
class Edit:
    """Every match of `pattern` gets its `value` group replaced by that part of the new names."""

    pattern: str
    part: Part


DATABASE_URL_NAME = r"postgresql\+asyncpg://[^\s\"'/]+/(?P<value>\w+)"
QUOTED_MAIL_DISPLAY_NAME = r"\"(?P<value>[^\"<\n]+?) <no-reply@"

# Path -> the edits it needs. Keep in step with the template: a pattern that stops matching fails the run.
EDITS: dict[str, tuple[Edit, ...]] = {
    "pyproject.toml": (
        Edit(r"(?ms)^\[project\]\n(?:(?!^\[).)*?^name = \"(?P<value>[^\"]*)\"", "slug"),
        Edit(r"(?ms)^\[project\]\n(?:(?!^\[).)*?^description = \"(?P<value>[^\"]*)\"", "title"),
    ),
    "app/core/config.py": (
        Edit(r"(?m)^    name: str = \"(?P<value>[^\"]*)\"$", "slug"),
        Edit(DATABASE_URL_NAME, "database"),
        Edit(r"(?m)^    jwt_issuer: str = \"(?P<value>[^\"]*)\"$", "slug"),
        Edit(r"(?m)^    jwt_audience: str = \"(?P<value>[^\"]*)\"$", "audience"),
        Edit(QUOTED_MAIL_DISPLAY_NAME, "title"),
    ),
    "app/db/engine.py": (Edit(r"application_name: str = \"(?P<value>[^\"]*)\"", "slug"),),
    # Receivers see it in their logs: the webhooks come from this service, by name.
    "app/services/webhook_delivery.py": (Edit(r"USER_AGENT = \"(?P<value>[a-z0-9-]+)-webhooks/", "slug"),),
    "app/worker/context.py": (Edit(r"(?m)^CONTEXT_KEY = \"(?P<value>[^\"]*)\"$", "slug"),),
    # The benchmarks' defaults name the template's database and token claims.
    "bench/common.py": (
        Edit(r"\"BENCH_DATABASE\", \"(?P<value>\w+?)_bench\"", "database"),
        Edit(DATABASE_URL_NAME, "database"),
    ),
    "bench/ceiling/app.py": (
        Edit(r"5432/(?P<value>\w+?)_bench", "database"),
        Edit(r"\"AUTH_JWT_ISSUER\", \"(?P<value>[^\"]*)\"", "slug"),
        Edit(r"\"AUTH_JWT_AUDIENCE\", \"(?P<value>[^\"]*)\"", "audience"),
    ),
    "bench/seed.py": (Edit(r"`(?P<value>\w+?)_bench`", "database"),),
    # FastAPI's title is the app's name; the committed document follows it.
    "docs/openapi.json": (Edit(r"\"info\": \{[^{}]*?\"title\": \"(?P<value>[^\"]*)\"", "slug"),),
    "docker-compose.yml": (
        Edit(DATABASE_URL_NAME, "database"),
        Edit(r"(?m)^      POSTGRES_DB: (?P<value>\w+)$", "database"),
        Edit(r"--dbname=(?P<value>\w+)", "database"),
        Edit(r"(?m)^  image: (?P<value>[a-z0-9-]+):local$", "slug"),
        Edit(r"`(?P<value>[a-z0-9-]+):local`", "slug"),
        Edit(r"(?m)^  SMTP_FROM: (?P<value>[^<\n]+?) <no-reply@", "title"),
    ),
    "docs/operations.md": (Edit(r"`(?P<value>[a-z0-9-]+):local`", "slug"),),
    "Dockerfile": (Edit(r"org\.opencontainers\.image\.title=\"(?P<value>[^\"]*)\"", "slug"),),
    ".github/workflows/ci.yml": (
        Edit(DATABASE_URL_NAME, "database"),
        Edit(r"(?m)^          POSTGRES_DB: (?P<value>\w+)$", "database"),
        Edit(r"--dbname=(?P<value>\w+)", "database"),
    ),
    "tests/support/environment.py": (
        Edit(DATABASE_URL_NAME, "database"),
        Edit(r"url\.database or '(?P<value>\w+)'", "database"),
    ),
    # The compose tests spell out the wiring they expect: they follow docker-compose.yml.
    "tests/ops/test_containers.py": (
        Edit(DATABASE_URL_NAME, "database"),
        Edit(QUOTED_MAIL_DISPLAY_NAME, "title"),
    ),
    "scripts/mutation_test.sh": (Edit(r"TEST_DATABASE_NAME:-(?P<value>\w+?)_test_mutants", "database"),),
}
# Renamed when present: a service may have dropped them.
OPTIONAL_EDITS: dict[str, tuple[Edit, ...]] = {
    "bench/README.md": (Edit(DATABASE_URL_NAME, "database"), Edit(r"`(?P<value>\w+?)_bench`", "database")),
    "README.md": (Edit(r"(?m)\A# (?P<value>.+)$", "title"),),
    ".env.example": (
        Edit(r"(?m)^APP_NAME=(?P<value>.*)$", "slug"),
        Edit(DATABASE_URL_NAME, "database"),
        Edit(r"(?m)^AUTH_JWT_ISSUER=(?P<value>.*)$", "slug"),
        Edit(r"(?m)^AUTH_JWT_AUDIENCE=(?P<value>.*)$", "audience"),
        Edit(r"(?m)^SMTP_FROM=(?P<value>[^<\n]+?) <no-reply@", "title"),
    ),
}


class RenameError(Exception):
    pass


def validated(name: str, display_title: str) -> Names:
    if not SLUG.fullmatch(name) or len(name) > MAX_SLUG_LENGTH:
        raise RenameError(
            f"NAME must be a lowercase slug of at most {MAX_SLUG_LENGTH} characters: letters, digits and "
            f"single hyphens, starting with a letter (e.g. orders-api); got {name!r}"
        )
    display_title = display_title.strip()
    if not TITLE.fullmatch(display_title) or len(display_title) > MAX_TITLE_LENGTH:
        raise RenameError(
            f"TITLE must be at most {MAX_TITLE_LENGTH} characters of letters, digits, spaces and . , & ' ( ) + -, "
            f'starting with a letter or digit (e.g. "Orders API"); got {display_title!r}'
        )
    return Names(slug=name, title=display_title)


def replacing_value(new: str) -> Callable[[re.Match[str]], str]:
    """A `re.sub` replacement that swaps the match's `value` group and keeps the rest of it."""

    def replace(match: re.Match[str]) -> str:
        start, end = (position - match.start() for position in match.span("value"))
        return match[0][:start] + new + match[0][end:]

    return replace


def renamed(path: str, text: str, edits: tuple[Edit, ...], names: Names) -> str:
    for edit in edits:
        text, count = re.subn(edit.pattern, replacing_value(names.part(edit.part)), text)
        if count == 0:
            raise RenameError(f"{path}: no match for {edit.pattern!r}; the template changed, update scripts/rename.py")
    return text


def planned_changes(root: Path, names: Names) -> dict[Path, str]:
    """Every file whose text changes, with its new text; nothing is written until all of them are known."""
    changes: dict[Path, str] = {}
    for edits, required in ((EDITS, True), (OPTIONAL_EDITS, False)):
        for relative, file_edits in edits.items():
            path = root / relative
            if not path.exists():
                if required:
                    raise RenameError(f"{relative} is missing; the template changed, update scripts/rename.py")
                continue
            text = path.read_text(encoding="utf-8")
            new_text = renamed(relative, text, file_edits, names)
            if new_text != text:
                changes[path] = new_text
    return changes


def tracked_changes(root: Path) -> str | None:
    """`git status` of tracked files; None when `root` is not a git checkout or git is missing."""
    git = shutil.which("git")
    if git is None:
        return None
    result = subprocess.run(  # noqa: S603 - git with fixed arguments
        [git, "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def refuse_unreviewable_run(root: Path) -> None:
    status = tracked_changes(root)
    if status is None:
        raise RenameError("not a git checkout, so the renaming could not be reviewed as a diff: pass --force to go on")
    if status:
        raise RenameError(
            "uncommitted changes to tracked files; commit or stash them first, so the renaming is a diff of its own "
            f"(or pass --force):\n{status}"
        )


def relock(root: Path) -> bool:
    """`uv lock`, so uv.lock names the project as pyproject.toml does; True when uv.lock changed."""
    uv = shutil.which("uv")
    if uv is None:
        sys.stdout.write("uv is not on PATH: run `uv lock` to rename the project in uv.lock too\n")
        return False
    lock = root / "uv.lock"
    before = lock.read_bytes() if lock.exists() else b""
    result = subprocess.run([uv, "lock"], cwd=root, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RenameError(f"`uv lock` failed:\n{result.stderr}")
    return lock.read_bytes() != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rename the project everywhere the template names itself.")
    parser.add_argument("name", metavar="NAME", help="lowercase slug, e.g. orders-api")
    parser.add_argument("title", metavar="TITLE", help='human-readable title, e.g. "Orders API"')
    parser.add_argument("--force", action="store_true", help="rename even with uncommitted changes")
    arguments = parser.parse_args(argv)
    try:
        names = validated(arguments.name, arguments.title)
        if not arguments.force:
            refuse_unreviewable_run(REPO_ROOT)
        changes = planned_changes(REPO_ROOT, names)
        for path, text in changes.items():
            path.write_text(text, encoding="utf-8")
        changed = sorted(path.relative_to(REPO_ROOT).as_posix() for path in changes)
        if relock(REPO_ROOT):
            changed.append("uv.lock")
    except RenameError as error:
        sys.stderr.write(f"rename: {error}\n")
        return 2
    for relative in changed:
        sys.stdout.write(f"changed {relative}\n")
    if not changed:
        sys.stdout.write(f"nothing to change: the project is already named {names.slug} ({names.title})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
