"""What only the running server decides: uvicorn, started with the documented flags, does not name itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.support.live_server import SERVING_FLAGS


def test_the_served_api_sends_no_server_header(server_url: str) -> None:
    for path in ("/health/live", "/v1/nowhere"):
        response = httpx.get(f"{server_url}{path}")
        assert "server" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_documented_serving_commands_carry_the_flags_the_tests_serve_with() -> None:
    readme = Path("README.md").read_text()
    [production] = re.findall(r"\| API, production \| `([^`]+)`", readme)
    [dockerfile_cmd] = re.findall(r"^CMD (\[.+\])$", Path("Dockerfile").read_text(), flags=re.MULTILINE)
    for command in (production.split(), json.loads(dockerfile_cmd)):
        assert set(SERVING_FLAGS) <= set(command), command
