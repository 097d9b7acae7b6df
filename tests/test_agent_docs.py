"""The guides for people and AI assistants stay true to the repository (OPS-9).

- Every `.cursor/rules/*.mdc` file starts with frontmatter that Cursor can read:
  a `description`, `globs` and `alwaysApply`, and nothing else.
- Every glob matches at least one file, so no rule is silently never applied.
- Every file, folder or test that the rules, AGENTS.md and the architecture, resource and
  configuration guides cite in backticks exists; so does every relative Markdown link.
- CLAUDE.md imports AGENTS.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = REPO_ROOT / ".cursor" / "rules"
RULE_FILES = (
    "fastapi-core.mdc",
    "fastapi-db.mdc",
    "fastapi-auth.mdc",
    "fastapi-errors.mdc",
    "fastapi-testing.mdc",
    "fastapi-jobs.mdc",
    "fastapi-migrations.mdc",
)
GUIDES = ("AGENTS.md", "docs/architecture.md", "docs/adding-a-resource.md", "docs/configuration.md")
FRONTMATTER_KEYS = {"description", "globs", "alwaysApply"}
FILE_SUFFIXES = (
    ".py",
    ".md",
    ".mdc",
    ".toml",
    ".lock",
    ".ini",
    ".yml",
    ".yaml",
    ".json",
    ".sh",
    ".example",
    ".mako",
    ".ts",
    ".html",
    ".txt",
)
BACKTICKED = re.compile(r"`([^`\n]+)`")
# A citation is a plain path, optionally followed by `::test_name` or `:symbol`. Anything with
# other characters (spaces, `<`, `+`, `*`, `=`, parentheses) is code or syntax, not a citation.
CITATION = re.compile(r"(?P<path>[\w.\-/]+)(?:(?P<separator>::?)(?P<name>\w+))?")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


class FrontmatterError(ValueError):
    """The file does not start with a well-formed `---` block of `key: value` lines."""


@dataclass(frozen=True)
class RuleFile:
    path: Path
    fields: dict[str, str]
    body: str

    @property
    def globs(self) -> list[str]:
        return [glob.strip() for glob in self.fields["globs"].split(",")]


def parse_frontmatter(text: str) -> tuple[dict[str, str], str]:
    """Split `---`-fenced `key: value` lines from the body. Values are taken as written, unquoted."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise FrontmatterError("the first line must be ---")
    try:
        end = next(index for index, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise FrontmatterError("no closing ---") from None
    fields: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip():
            continue
        key, separator, value = line.partition(":")
        if not separator or not re.fullmatch(r"[A-Za-z]+", key):
            raise FrontmatterError(f"not a `key: value` line: {line!r}")
        if key in fields:
            raise FrontmatterError(f"{key} appears twice")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        fields[key] = value
    return fields, "\n".join(lines[end + 1 :])


def load_rule(path: Path) -> RuleFile:
    fields, body = parse_frontmatter(path.read_text(encoding="utf-8"))
    return RuleFile(path, fields, body)


def rule_paths() -> list[Path]:
    return sorted(RULES_DIR.glob("*.mdc"))


def cited_paths(text: str) -> list[str]:
    """Every backticked citation of a repository file, folder or test in `text`."""
    citations = []
    for token in BACKTICKED.findall(text):
        match = CITATION.fullmatch(token)
        if match is None or token.startswith("/"):
            continue  # code, a command, a URL path
        path = match["path"]
        if "/" in path or path.endswith(FILE_SUFFIXES):
            citations.append(token)
    return citations


def defines(path: Path, name: str, *, test: bool) -> bool:
    source = path.read_text(encoding="utf-8")
    function = rf"^(async )?def {re.escape(name)}\("
    if test:
        return re.search(function, source, re.MULTILINE) is not None
    symbol = rf"{function}|^class {re.escape(name)}\b|^{re.escape(name)}\s*[:=]"
    return re.search(symbol, source, re.MULTILINE) is not None


def broken_citations(text: str) -> list[str]:
    broken = []
    for citation in cited_paths(text):
        match = CITATION.fullmatch(citation)
        assert match is not None
        target = REPO_ROOT / match["path"].rstrip("/")
        if not target.exists():
            broken.append(f"{citation}: no such file or folder")
        elif match["name"] and not (target.is_file() and target.suffix == ".py"):
            broken.append(f"{citation}: names a symbol in something other than a Python file")
        elif match["name"] and not defines(target, match["name"], test=match["separator"] == "::"):
            kind = "test" if match["separator"] == "::" else "definition"
            broken.append(f"{citation}: no such {kind}")
    return broken


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in MARKDOWN_LINK.findall(document.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # an external URL or an anchor on the same page
        if not (document.parent / target.partition("#")[0]).exists():
            broken.append(f"link to {target}")
    return broken


# --- the rule files ------------------------------------------------------------------------


def test_every_rule_file_is_there() -> None:
    present = {path.name for path in rule_paths()}
    assert set(RULE_FILES) <= present, f"missing: {sorted(set(RULE_FILES) - present)}"


@pytest.mark.parametrize("path", rule_paths(), ids=lambda path: path.name)
def test_the_frontmatter_is_complete(path: Path) -> None:
    rule = load_rule(path)
    assert set(rule.fields) == FRONTMATTER_KEYS, f"{path.name}: keys {sorted(rule.fields)}"
    assert rule.fields["description"], f"{path.name}: empty description"
    assert rule.fields["globs"], f"{path.name}: no globs"
    assert all(rule.globs), f"{path.name}: an empty glob in {rule.fields['globs']!r}"
    assert rule.fields["alwaysApply"] in {"true", "false"}, f"{path.name}: alwaysApply must be true or false"
    assert rule.body.strip(), f"{path.name}: no rules after the frontmatter"


@pytest.mark.parametrize("path", rule_paths(), ids=lambda path: path.name)
def test_every_glob_matches_a_file(path: Path) -> None:
    unmatched = [glob for glob in load_rule(path).globs if not any(match.is_file() for match in REPO_ROOT.glob(glob))]
    assert not unmatched, f"{path.name}: globs matching no file: {unmatched}"


@pytest.mark.parametrize("path", rule_paths(), ids=lambda path: path.name)
def test_each_rule_file_points_at_the_projects_own_files(path: Path) -> None:
    assert cited_paths(load_rule(path).body), f"{path.name} cites no file of the project as its example"


@pytest.mark.parametrize(
    "text",
    [
        "description: x\nglobs: app/**/*.py\nalwaysApply: false\n---\n",
        "---\ndescription: x\nglobs: app/**/*.py\n",
        "---\ndescription x\n---\n",
        "---\ndescription: x\ndescription: y\n---\n",
    ],
    ids=["no opening fence", "no closing fence", "no colon", "duplicate key"],
)
def test_the_parser_refuses_malformed_frontmatter(text: str) -> None:
    with pytest.raises(FrontmatterError):
        parse_frontmatter(text)


def test_the_parser_reads_values_with_colons_and_quotes() -> None:
    fields, body = parse_frontmatter('---\ndescription: "When: always"\nglobs: a/*.py,b/*.py\n---\nBody\n')
    assert fields == {"description": "When: always", "globs": "a/*.py,b/*.py"}
    assert body == "Body"


# --- citations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [*(path.relative_to(REPO_ROOT).as_posix() for path in rule_paths()), *GUIDES],
)
def test_every_cited_file_and_test_exists(document: str) -> None:
    path = REPO_ROOT / document
    assert path.is_file(), f"{document} is missing"
    broken = broken_citations(path.read_text(encoding="utf-8")) + broken_links(path)
    assert not broken, f"{document}: {broken}"


def test_the_citation_check_catches_what_it_should() -> None:
    text = (
        "`app/main.py` `app/nowhere.py` `tests/architecture/` `docs/` "
        "`tests/architecture/test_code_rules.py::test_db3_commit_only_in_its_owner` "
        "`tests/architecture/test_code_rules.py::test_that_was_renamed` "
        "`app/api/deps.py:DbSession` `app/api/deps.py:Nothing` "
        "`/v1/posts` `application/problem+json` `GET /v1/posts` `app.main:app` `users:read`"
    )
    assert broken_citations(text) == [
        "app/nowhere.py: no such file or folder",
        "tests/architecture/test_code_rules.py::test_that_was_renamed: no such test",
        "app/api/deps.py:Nothing: no such definition",
    ]


# --- CLAUDE.md -------------------------------------------------------------------------------


def test_claude_md_imports_agents_md() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "CLAUDE.md").read_text(encoding="utf-8").splitlines()]
    content = [line for line in lines if line]
    assert "@AGENTS.md" in content
    assert len(content) <= 3, "CLAUDE.md should import AGENTS.md and add at most two lines"
    assert (REPO_ROOT / "AGENTS.md").is_file()
