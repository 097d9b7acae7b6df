"""A PostgreSQL server of the test's own, on a free port, that the test may freeze and thaw.

Never the shared server: the cluster is created by `initdb` in a temporary directory
and removed afterwards. As root, the server runs as the `postgres` user (PostgreSQL
refuses to run as root).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.outages import closed_port

INITDB = shutil.which("initdb")
PG_CTL = shutil.which("pg_ctl")


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    def __init__(self) -> None:
        self.port = closed_port()
        self.directory = Path(tempfile.mkdtemp(prefix="private-pg-"))
        self.data = self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/service"

    def start(self) -> None:
        assert INITDB
        assert PG_CTL
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            os.chown(self.directory, postgres.pw_uid, postgres.pw_gid)
        self._run([INITDB, "-D", str(self.data), "-A", "trust", "-U", "postgres"])
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.directory / "server.log")
        self._run([PG_CTL, "-D", str(self.data), "-o", options, "-l", log, "-w", "start"])

    @staticmethod
    def _run(command: list[str]) -> None:
        subprocess.run(_as_server_user(command), check=True, capture_output=True, timeout=120)  # noqa: S603

    def processes(self) -> list[int]:
        """The postmaster and every process it forked (backends, checkpointer, ...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *_children_of(postmaster)]

    def freeze(self) -> None:
        """SIGSTOP the whole server, as a network partition or a stalled host looks to clients."""
        for pid in self.processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.thaw()
            subprocess.run(  # noqa: S603
                _as_server_user([PG_CTL or "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


def _children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # /proc/<pid>/stat: "pid (name) state ppid ..."; the name may hold spaces, so split after ")".
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if parent == pid:
            children.append(int(stat.parent.name))
    return children


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        await asyncio.to_thread(server.stop)
