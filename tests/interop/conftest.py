"""A real server for the third-party clients, shared by the whole run (it starts in about a second)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live_server import live_server


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url
