#!/usr/bin/env bash
# Audit every locked dependency, runtime and development, against the OSV advisory database.
# A known vulnerability fails the run and names its advisory id (and aliases: CVE, GHSA).
#
#   bash scripts/audit_dependencies.sh
#
# AUDIT_OSV_URL  the OSV query endpoint (default: the public one)
# AUDIT_REQUIRED 1 (the CI workflow): an unreachable advisory service fails the run.
#                0 (default): it is reported and the audit is skipped, so an offline machine can
#                still run .ci/run; the workflow on GitHub is where the audit is enforced.
# To accept a finding for a while, add `--ignore-vuln ID` below with a comment saying why and until when.
set -euo pipefail
cd "$(dirname "$0")/.."

osv_url=${AUDIT_OSV_URL:-https://api.osv.dev/v1/query}
requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT

# Exactly what uv.lock pins, with hashes: pip-audit then audits those versions without resolving anything.
uv export --frozen --all-groups --no-emit-project --format requirements.txt --quiet --output-file "$requirements"

if ! uv run python - "$osv_url" <<'PY'
import sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=b"{}", headers={"Content-Type": "application/json"})
try:
    urllib.request.urlopen(request, timeout=5)  # noqa: S310 - a fixed https URL or the caller's own
except urllib.error.HTTPError:
    pass  # it answered: reachable
except OSError:
    sys.exit(1)
PY
then
  if [ "${AUDIT_REQUIRED:-0}" = 1 ]; then
    echo "dependency audit: the advisory service at $osv_url is unreachable" >&2
    exit 1
  fi
  echo "dependency audit SKIPPED: the advisory service at $osv_url is unreachable from this machine"
  exit 0
fi

uv run pip-audit --strict --disable-pip --require-hashes --progress-spinner off \
  --vulnerability-service osv --osv-url "$osv_url" --aliases on \
  --requirement "$requirements"
