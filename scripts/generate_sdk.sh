#!/usr/bin/env bash
# Proves that a client generated from the OpenAPI document builds (API-5): generate a TypeScript fetch
# client from the committed docs/openapi.json and type-check scripts/sdk/consumer.ts against it.
# The document itself is checked against the app by tests/test_openapi_document.py; after an API
# change, regenerate it first: uv run python -m scripts.export_openapi
# Needs Node >= 20.19 with npm; no server, no database. The slow test in tests/test_openapi_document.py
# runs it inside `uv run pytest`. Usage: bash scripts/generate_sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v npm >/dev/null 2>&1; then
  echo "scripts/generate_sdk.sh needs Node.js >= 20.19 with npm on PATH" >&2
  exit 1
fi

cd scripts/sdk

step "npm ci (the versions in package-lock.json, nothing else)"
# `--prefer-offline`: packages already in npm's cache are taken from it without asking the registry again;
# the versions and integrity hashes are still package-lock.json's.
npm ci --no-audit --no-fund --prefer-offline

# `--no`: run only what `npm ci` installed, never a tool of the same name fetched from the registry;
# `--`: the flags after it are the tool's own (npx would read `-p` as its `--package`).
step "openapi-ts: generate the client into scripts/sdk/generated/"
npx --no -- openapi-ts

step "tsc: type-check consumer.ts against the generated client"
npx --no -- tsc --noEmit -p .

printf '\nThe client generated from docs/openapi.json builds.\n'
