"""The order in which xdist hands out the test files: the slowest first, so none finishes alone.

`--dist loadfile` keeps each file on one worker and, with `--no-loadscope-reorder`, hands the files
out in collection order. Started last, a 50 s file would run alone while the other worker idles;
started first, the many short files fill in beside it. The list is measured (`--durations=0`,
summed per file, docs/performance.md); the files not in it follow, the most tests first. A file
missing from the list only runs later; one on it that no longer exists fails
tests/test_harness.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

# Longest first: seconds per file, summed from `--durations=0` of a full run on the 2-core project machine.
SLOWEST_FILES = (
    "tests/observability/test_collector_outage.py",  # ~60 s
    "tests/ops/test_copier_template.py",  # ~50 s
    "tests/interop/test_openapi_contract.py",  # ~50 s
    "tests/test_cli.py",  # ~40 s
    "tests/worker/test_durability.py",  # ~30 s
    "tests/ops/test_containers.py",  # ~25 s
    "tests/api/test_hostile_input.py",  # ~20 s
    "tests/test_openapi_document.py",  # ~20 s
    "tests/test_readme.py",  # ~20 s
    "tests/test_rename.py",  # ~15 s
    "tests/api/test_idempotency.py",  # ~15 s
    "tests/api/test_post_export.py",  # ~15 s
    "tests/test_harness.py",  # ~15 s
    "tests/observability/test_tracing.py",  # ~13 s
    "tests/api/test_app.py",  # ~13 s
    "tests/db/test_migrations.py",  # ~12 s
)


def file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def slowest_files_first(items: list[pytest.Item]) -> None:
    """In place: the listed files in their order, then the rest, most tests first; within a file, as collected."""
    rank = {name: position for position, name in enumerate(SLOWEST_FILES)}
    tests_per_file = Counter(file_of(item) for item in items)
    first_seen: dict[str, int] = {}
    for position, item in enumerate(items):
        first_seen.setdefault(file_of(item), position)

    def key(item: pytest.Item) -> tuple[int, int, int]:
        name = file_of(item)
        return (rank.get(name, len(rank)), -tests_per_file[name], first_seen[name])

    items.sort(key=key)  # stable: within a file, the collected order
