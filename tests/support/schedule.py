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

# Longest first, measured on the 2-core project machine (seconds per file, two workers).
SLOWEST_FILES = (
    "tests/ops/test_copier_template.py",
    "tests/observability/test_collector_outage.py",
    "tests/interop/test_openapi_contract.py",
    "tests/test_cli.py",
    "tests/test_openapi_document.py",
    "tests/worker/test_durability.py",
    "tests/test_readme.py",
    "tests/test_rename.py",
    "tests/ops/test_containers.py",
    "tests/api/test_hostile_input.py",
    "tests/test_harness.py",
    "tests/ops/test_serving_limits.py",
    "tests/api/test_metrics.py",
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
