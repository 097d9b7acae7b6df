#!/usr/bin/env bash
# A CycloneDX SBOM of the runtime image's Python dependencies: exactly what the Dockerfile's
# `uv sync --locked --no-dev` installs, read from uv.lock.
#
#   bash scripts/sbom.sh [OUTPUT]     (default: sbom.cdx.json)
set -euo pipefail
cd "$(dirname "$0")/.."
output=${1:-sbom.cdx.json}
uv export --frozen --no-dev --no-emit-project --format cyclonedx1.5 --preview-features sbom-export \
  --quiet --output-file "$output"
echo "SBOM: $output ($(uv run python -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["components"]))' "$output") components)"
