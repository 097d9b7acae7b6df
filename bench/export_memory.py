"""How much memory does one export of a user's posts take in the API process?

    uv run python -m bench.export_memory [--posts 20000] [--size 10000] [--source DIR]

Drops and re-creates the database `service_bench_export` (next to DATABASE_URL's),
migrates it, and copies in one user with `--posts` drafts of `--size` characters each.
Then starts the API (`uvicorn app.main:app`, one process, production settings, a private
redis-server) from `--source` (default: this checkout; give an unpacked older revision to
compare, e.g. `git archive <rev> | tar -x -C /tmp/old`), runs one CSV export of that user
through a client that reads and drops what it gets, and samples the server's VmRSS every
20 ms. Prints VmRSS before, the peak during the export, the bytes received and the seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from app.core.security import create_access_token
from bench.common import (
    REPO_ROOT,
    VENV_BIN,
    bench_settings,
    free_port,
    private_redis,
    rss_mb,
    running_server,
    server_environment,
)
from bench.seed import POST_COLUMNS, USER_COLUMNS

DATABASE = "service_bench_export"
BATCH = 1000


def database_url(driver: str) -> str:
    base = bench_settings().database.url
    return str(base).replace("postgresql+asyncpg", driver).rsplit("/", 1)[0] + f"/{DATABASE}"


async def seed(posts: int, size: int) -> uuid.UUID:
    admin = await asyncpg.connect(database_url("postgresql").rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    environment = {**os.environ, "DATABASE_URL": database_url("postgresql+asyncpg"), "PYTHONPATH": str(REPO_ROOT)}
    migrate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "alembic", "upgrade", "head", cwd=REPO_ROOT, env=environment
    )
    if await migrate.wait() != 0:
        raise RuntimeError("alembic upgrade head failed")
    user_id = uuid.uuid4()
    connection = await asyncpg.connect(database_url("postgresql"))
    try:
        user = (user_id, "export@example.com", "Export", "not-a-hash", True, ["posts:write"], 1)
        await connection.copy_records_to_table("user", records=[user], columns=USER_COLUMNS)
        now = datetime.now(UTC)
        body = "w" * size
        for start in range(0, posts, BATCH):
            rows = [
                (uuid.uuid4(), user_id, f"Post {n}", body, "draft", None, now - timedelta(seconds=n), now)
                for n in range(start, min(start + BATCH, posts))
            ]
            await connection.copy_records_to_table("post", records=rows, columns=POST_COLUMNS)
    finally:
        await connection.close()
    return user_id


def export_once(base_url: str, token: str, pid: int) -> dict[str, float]:
    peak = before = rss_mb(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.02)  # noqa: TID251 - a synchronous script, no event loop here

    sampler = threading.Thread(target=sample)
    sampler.start()
    received, started = 0, time.perf_counter()
    try:
        with httpx.stream(
            "GET",
            f"{base_url}/v1/posts/export",
            params={"format": "csv"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                received += len(chunk)
    finally:
        done.set()
        sampler.join()
    return {"before": before, "peak": peak, "received": received, "seconds": time.perf_counter() - started}


def main(posts: int, size: int, source: Path) -> None:
    user_id = asyncio.run(seed(posts, size))
    print(f"{posts:,} posts of {size:,} characters copied into {DATABASE}")
    with private_redis() as redis_url:
        settings = bench_settings(redis_url)
        token = create_access_token(
            user_id=user_id, scopes=frozenset({"posts:write"}), credentials_version=1, settings=settings
        ).token
        port = free_port()
        environment = server_environment(
            redis_url, DATABASE_URL=database_url("postgresql+asyncpg"), PYTHONPATH=str(source)
        )
        command = [str(VENV_BIN / "uvicorn"), "app.main:app", "--app-dir", str(source), "--port", str(port)]
        with running_server("export", command, port, environment) as server:
            [pid] = server.pids()
            result = export_once(server.base_url, token, pid)
    print(
        f"source {source}: VmRSS before {result['before']:.1f} MB, peak {result['peak']:.1f} MB, "
        f"{result['received'] / 1e6:.1f} MB received in {result['seconds']:.1f} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--source", type=Path, default=REPO_ROOT)
    args = parser.parse_args()
    main(args.posts, args.size, args.source.resolve())
