"""Copier's task: give a freshly generated copy the answers it was generated with.

    python3 scripts/apply_template_answers.py --service-name orders-api --project-name "Orders API" \
        --description "Orders and invoices." --author "Team Orders <orders@example.com>"

Copier runs this in the generated project (copier.yml `_tasks`), on `copier copy` and on both
renders `copier update` compares. The names go through scripts/rename.py, exactly as for a plain
clone; then the description and the author go into pyproject.toml. Standard library only: it
runs before `uv sync`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rename  # the sibling script, found through the path entry above

PYPROJECT = rename.REPO_ROOT / "pyproject.toml"
DESCRIPTION = re.compile(r"(?ms)^(\[project\]\n(?:(?!^\[).)*?^description = )\"[^\"\n]*\"$")
AUTHORS = re.compile(r"(?m)^authors = \[.*\]\n")
AUTHOR = re.compile(r"^\s*(?P<name>[^<>]*?)\s*(?:<(?P<email>[^<>\s]+@[^<>\s]+)>)?\s*$")


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escaping is a subset of TOML's."""
    return json.dumps(value, ensure_ascii=False)


def author_entry(author: str) -> str:
    match = AUTHOR.fullmatch(author)
    if match is None or not (match["name"] or match["email"]):
        raise rename.RenameError(f'author must be "Name", "Name <e-mail>" or "<e-mail>"; got {author!r}')
    fields = [f"{key} = {toml_string(match[key])}" for key in ("name", "email") if match[key]]
    return "{ " + ", ".join(fields) + " }"


def with_description_and_author(text: str, description: str, author: str) -> str:
    text, count = DESCRIPTION.subn(lambda match: match[1] + toml_string(description.strip()), text, count=1)
    if count != 1:
        raise rename.RenameError("pyproject.toml: no `description = ...` in [project]")
    text = AUTHORS.sub("", text)
    if author.strip():
        text = DESCRIPTION.sub(lambda match: match[0] + f"\nauthors = [{author_entry(author)}]", text, count=1)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply copier's answers to the generated project.")
    parser.add_argument("--service-name", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--description", required=True)
    parser.add_argument("--author", default="")
    arguments = parser.parse_args(argv)
    # A generated copy is not a git checkout yet: there is nothing to review the renaming against.
    status = rename.main([arguments.service_name, arguments.project_name, "--force"])
    if status != 0:
        return status
    try:
        text = PYPROJECT.read_text(encoding="utf-8")
        PYPROJECT.write_text(with_description_and_author(text, arguments.description, arguments.author), "utf-8")
    except rename.RenameError as error:
        sys.stderr.write(f"apply_template_answers: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
