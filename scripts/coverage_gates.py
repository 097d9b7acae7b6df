"""Fail when a layer's coverage drops below its gate (TST-8). Reads the data `uv run pytest` wrote."""

from __future__ import annotations

import sys
from pathlib import Path

from coverage import Coverage
from coverage.exceptions import NoDataError

GATES = {"app/services/": 85.0, "app/repositories/": 85.0, "app/api/v1/": 70.0}


def layer_coverage(coverage: Coverage, prefix: str) -> tuple[int, int]:
    """(covered, total) statements and branches over every measured file under `prefix`."""
    covered = total = 0
    data = coverage.get_data()
    for filename in data.measured_files():
        relative = Path(filename).resolve().relative_to(Path.cwd()).as_posix()
        if not relative.startswith(prefix):
            continue
        analysis = coverage._analyze(filename)
        numbers = analysis.numbers
        covered += numbers.n_executed + numbers.n_executed_branches
        total += numbers.n_statements + numbers.n_branches
    return covered, total


def main() -> int:
    coverage = Coverage()
    try:
        coverage.load()
    except NoDataError:
        sys.stderr.write("No coverage data: run `uv run pytest` first.\n")
        return 1
    failed = False
    for prefix, gate in GATES.items():
        covered, total = layer_coverage(coverage, prefix)
        percent = 100.0 * covered / total if total else 100.0
        verdict = "ok" if percent >= gate else "BELOW GATE"
        failed |= percent < gate
        sys.stdout.write(f"{prefix:<20} {percent:6.2f}%  (gate {gate:.0f}%)  {verdict}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
