"""A private PgBouncer in transaction mode in front of the test PostgreSQL, on a free port."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from tests.support.outages import closed_port

# Debian installs it outside a normal user's PATH.
CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")
HOW_TO_INSTALL = "PgBouncer is not installed: `apt-get install -y pgbouncer` (.ci/run does it)"


def pgbouncer_binary() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def write_config(upstream: URL, *, port: int, pool_size: int) -> Path:
    """A config directory `nobody` can read: PgBouncer refuses to run as root and is told to drop to it."""
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    directory.chmod(0o755)
    (directory / "userlist.txt").write_text(f'"{upstream.username}" ""\n')
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": str(directory / "userlist.txt"),
        "pool_mode": "transaction",
        "default_pool_size": str(pool_size),
        "max_client_conn": "200",
        "ignore_startup_parameters": "extra_float_digits",
    }
    lines = [
        "[databases]",
        f"* = host={upstream.host or '127.0.0.1'} port={upstream.port or 5432}",
        "[pgbouncer]",
        *(f"{key} = {value}" for key, value in settings.items()),
    ]
    (directory / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


@asynccontextmanager
async def pgbouncer_in_front_of(database_url: str, *, pool_size: int = 3) -> AsyncIterator[str]:
    """Yields `database_url` rewritten to go through a PgBouncer that pools per transaction.

    The pool is smaller than the client's, so transactions of one client connection run on
    different server connections — what breaks a driver that keeps prepared statements.
    """
    binary = pgbouncer_binary()
    assert binary is not None, HOW_TO_INSTALL
    upstream = make_url(database_url)
    port = closed_port()
    directory = write_config(upstream, port=port, pool_size=pool_size)
    as_nobody = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = await asyncio.create_subprocess_exec(
        binary, *as_nobody, str(directory / "pgbouncer.ini"), stdout=PIPE, stderr=STDOUT
    )
    try:
        await _wait_for_port(port, process)
        yield upstream.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        if process.returncode is None:
            process.terminate()
        await process.communicate()
        shutil.rmtree(directory, ignore_errors=True)


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(100):
        if process.returncode is not None:
            output, _ = await process.communicate()
            raise RuntimeError(f"pgbouncer exited with {process.returncode}:\n{output.decode(errors='replace')}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
        else:
            writer.close()
            await writer.wait_closed()
            return
    raise RuntimeError(f"pgbouncer did not listen on {port}")
