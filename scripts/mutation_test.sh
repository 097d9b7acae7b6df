#!/usr/bin/env bash
# Mutation testing of authentication and authorization (TST-9); see docs/mutation-testing.md.
# mutmut mutates the modules named under [tool.mutmut] in pyproject.toml and, for each mutant,
# runs the selected tests that reach it. Needs PostgreSQL and Redis, like `uv run pytest`.
# Not part of CI: the whole set takes tens of minutes on a 2-core machine.
# Usage: bash scripts/mutation_test.sh                        every module under [tool.mutmut]
#        bash scripts/mutation_test.sh 'app.core.tokens*' ...  only the mutants matching these names
set -euo pipefail
cd "$(dirname "$0")/.."

# Every mutant's test session drops and recreates its database: never the one a normal test run uses.
export TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-service_test_mutants}"
export TEST_REDIS_DB="${TEST_REDIS_DB:-11}"

# mutmut keeps verdicts in mutants/ and re-tests only mutants of changed functions, so a mutant
# that survived before a new test was written would still be reported as surviving.
rm -rf mutants
mkdir mutants
stderr_log=mutants/mutmut-stderr.log

started=$SECONDS
# One mutant at a time: all mutants share one test database and one Redis database, and two sessions
# at once wipe each other's rows and counters, which reports surviving mutants as killed.
if ! uv run mutmut run --max-children 1 "$@" 2>"$stderr_log"; then
  tail -n 40 "$stderr_log" >&2
  exit 1
fi
elapsed=$((SECONDS - started))

uv run mutmut export-cicd-stats >/dev/null
echo
echo "Not killed (inspect one with: uv run mutmut show <name>):"
uv run mutmut results
uv run python - "$elapsed" <<'PY'
import json
import sys
from pathlib import Path

stats = json.loads(Path("mutants/mutmut-cicd-stats.json").read_text())
killed, survived, timeout = stats["killed"], stats["survived"], stats["timeout"]
other = stats["total"] - killed - survived - timeout
minutes, seconds = divmod(int(sys.argv[1]), 60)
print()
print(f"mutants: {stats['total']}  killed: {killed}  survived: {survived}  timeout: {timeout}  other: {other}")
print(f"  other = no tests {stats['no_tests']}, suspicious {stats['suspicious']}, skipped {stats['skipped']},")
print(f"          segfault {stats['segfault']}, interrupted {stats['check_was_interrupted_by_user']}")
print(f"time: {minutes}m{seconds:02d}s")
PY
