"""Write the OpenAPI document of `create_app()` to docs/openapi.json, the input of every generated client (API-5).

Run from the repository root: `uv run python -m scripts.export_openapi` (or `--output PATH`).
No server starts and nothing connects: only the lifespan opens connections, and it never runs here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.core.config import AppSettings, Environment, Settings
from app.main import create_app

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def openapi_document() -> dict[str, Any]:
    # The document the app serves in `test`: `local` adds debug routes that no client may call.
    # The app group ignores `.env`, so a developer's local overrides cannot leak into the committed file.
    settings = Settings(app=AppSettings(_env_file=None, env=Environment.TEST))
    return create_app(settings).openapi()


def render(document: dict[str, Any]) -> str:
    """Sorted keys, two-space indent and a final newline: the same app always gives the same bytes."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the OpenAPI document of create_app().")
    parser.add_argument("--output", type=Path, default=DOCUMENT, help="where to write it (default: %(default)s)")
    arguments = parser.parse_args(argv)
    output: Path = arguments.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(openapi_document()), encoding="utf-8")
    sys.stdout.write(f"wrote {output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
