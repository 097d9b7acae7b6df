"""The OpenAPI document that clients are generated from, and the proof that a generated client builds (API-5).

- `docs/openapi.json` is what `create_app()` builds now. An API change committed without
  re-exporting it fails here, with the command that fixes it.
- The app serves that same document in `test`.
- `scripts/generate_sdk.sh` generates a TypeScript client from it and type-checks a program that uses it.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.outages import closed_port

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
GENERATE_SDK = REPO_ROOT / "scripts" / "generate_sdk.sh"
EXPORT_COMMAND = "uv run python -m scripts.export_openapi"

EXPORT_TIMEOUT_SECONDS = 60
GENERATE_SDK_TIMEOUT_SECONDS = 300
DIFF_LINES_SHOWN = 60


def test_the_committed_document_is_what_the_app_builds(tmp_path: Path) -> None:
    exported = tmp_path / "openapi.json"
    # Nothing listens there: the export must not need a database or Redis.
    nowhere = {
        "DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nowhere",
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
    }
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, "-m", "scripts.export_openapi", "--output", str(exported)],
        cwd=REPO_ROOT,
        env={**os.environ, **nowhere},
        capture_output=True,
        text=True,
        timeout=EXPORT_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    committed = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
    current = exported.read_text(encoding="utf-8")
    if committed != current:
        diff = difflib.unified_diff(
            committed.splitlines(), current.splitlines(), "docs/openapi.json", "create_app()", lineterm=""
        )
        shown = "\n".join(list(diff)[:DIFF_LINES_SHOWN])
        pytest.fail(
            f"docs/openapi.json is not what the app builds now. Regenerate it with `{EXPORT_COMMAND}` "
            f"and commit it with the API change.\n{shown}"
        )


async def test_the_app_serves_the_committed_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_client_generated_from_the_document_builds() -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH: install Node.js >= 20.19 to build the generated TypeScript client")
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        ["bash", str(GENERATE_SDK)],  # noqa: S607 - bash from PATH, like every shell script here
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=GENERATE_SDK_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
