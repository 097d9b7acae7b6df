"""The service's version, read from its one home: `[project] version` in pyproject.toml.

The project is not installed as a distribution (`[tool.uv] package = false`), so
`importlib.metadata` cannot see it; the file travels with the code instead (the Dockerfile
copies it into the runtime image). Read once, at import.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def read_version(pyproject: Path = PYPROJECT) -> str:
    with pyproject.open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


SERVICE_VERSION = read_version()
