"""Every problem type a client can receive is documented in docs/errors.md (SPEC §4, ERR-1)."""

from __future__ import annotations

import re
from pathlib import Path

from app.core.errors import AppError

CATALOGUE = Path("docs/errors.md")


def all_error_classes(root: type[AppError] = AppError) -> set[type[AppError]]:
    found = {root}
    for subclass in root.__subclasses__():
        found |= all_error_classes(subclass)
    return found


def test_every_error_code_has_an_entry_with_its_status_and_title() -> None:
    text = CATALOGUE.read_text()
    entries = dict(re.findall(r"^## (\w+)\n\*\*(.+?)\*\*", text, flags=re.MULTILINE))
    for error in all_error_classes():
        assert error.code in entries, f"{error.code} is missing from {CATALOGUE}"
        assert entries[error.code] == f"{error.status_code} · {error.title}.", error.code


def test_no_two_errors_declare_the_same_code() -> None:
    # A subclass may keep its parent's code (a replayed refresh token is still `invalid_grant`);
    # two classes may not each declare one.
    declared = [error.code for error in all_error_classes() if "code" in vars(error)]
    assert len(declared) == len(set(declared))
