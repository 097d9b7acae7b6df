"""Create, migrate and fill the bench database: users and a million posts, loaded with COPY.

    uv run python -m bench.seed [--users 10000] [--posts 1000000] [--drafts 20000]

Drops and re-creates the database `service_bench` (BENCH_DATABASE) on the server
named by DATABASE_URL (default: localhost), runs `alembic upgrade head` against it,
then COPYs the rows in and VACUUM ANALYZEs. Prints how long each step took.

Every post is published except `--drafts` extra ones; `created_at` goes one second
back per post, so the newest-first list is a walk down `ix_post_published_created_at_id`.
The first user is `bench@example.com` with the production argon2id hash of
`bench.common.BENCH_PASSWORD` (the login bench signs in as that account); the others
share that hash, which keeps seeding fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import asyncpg

from app.core.config import AuthSettings
from app.core.security import hash_password
from bench.common import BENCH_DATABASE, BENCH_EMAIL, BENCH_PASSWORD, REPO_ROOT, bench_database_url

CHUNK = 100_000
WORDS = [
    "async",
    "keyset",
    "cursor",
    "index",
    "request",
    "response",
    "service",
    "worker",
    "outbox",
    "relay",
    "queue",
    "token",
    "scope",
    "session",
    "engine",
    "pool",
    "commit",
    "rollback",
    "latency",
    "throughput",
    "schema",
    "model",
    "router",
    "repository",
]
USER_COLUMNS = ["id", "email", "name", "password_hash", "is_active", "scopes", "credentials_version"]
POST_COLUMNS = ["id", "author_id", "title", "body", "status", "published_at", "created_at", "updated_at"]


def _plain_url(database: str) -> str:
    return bench_database_url("postgresql").rsplit("/", 1)[0] + f"/{database}"


async def recreate_database() -> None:
    connection = await asyncpg.connect(_plain_url("postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    finally:
        await connection.close()


def migrate() -> None:
    environment = {**os.environ, "DATABASE_URL": bench_database_url(), "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO_ROOT, env=environment, check=True)


def user_rows(count: int, password_hash: str) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = [
        (uuid.uuid4(), BENCH_EMAIL, "Bench User", password_hash, True, ["posts:write"], 1)
    ]
    rows += [
        (uuid.uuid4(), f"user{n}@example.com", f"User {n}", password_hash, True, ["posts:write"], 1)
        for n in range(1, count)
    ]
    return rows


def post_rows(
    author_ids: list[uuid.UUID], published: int, drafts: int, now: datetime
) -> Iterator[list[tuple[object, ...]]]:
    rng = random.Random(7)  # the same shape of data on every run
    step = (published + drafts) // drafts if drafts else 0
    chunk: list[tuple[object, ...]] = []
    for n in range(published + drafts):
        created_at = now - timedelta(seconds=n, microseconds=rng.randrange(1_000_000))
        is_draft = step > 0 and n < drafts * step and n % step == step - 1
        status = "draft" if is_draft else "published"
        title = f"Post {n}: " + " ".join(rng.choices(WORDS, k=5))
        body = " ".join(rng.choices(WORDS, k=40))
        published_at = created_at if status == "published" else None
        chunk.append((uuid.uuid4(), rng.choice(author_ids), title, body, status, published_at, created_at, created_at))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def seed(users: int, posts: int, drafts: int) -> None:
    started = time.perf_counter()
    await recreate_database()
    migrate()
    migrated = time.perf_counter()
    print(f"database {BENCH_DATABASE} created and migrated in {migrated - started:.1f}s")

    production = AuthSettings(_env_file=None)  # the real argon2id cost, as a deployed service has it
    password_hash = await hash_password(BENCH_PASSWORD, production)
    connection = await asyncpg.connect(_plain_url(BENCH_DATABASE))
    try:
        rows = user_rows(users, password_hash)
        await connection.copy_records_to_table("user", records=rows, columns=USER_COLUMNS)
        loaded_users = time.perf_counter()
        print(f"{users:,} users copied in {loaded_users - migrated:.1f}s")

        author_ids: list[uuid.UUID] = [row[0] for row in rows]  # type: ignore[misc]
        total = 0
        # `drafts` extra posts, spread through the timeline, so the public list has to skip them.
        for chunk in post_rows(author_ids, posts, drafts, datetime.now(UTC)):
            await connection.copy_records_to_table("post", records=chunk, columns=POST_COLUMNS)
            total += len(chunk)
        loaded_posts = time.perf_counter()
        print(f"{total:,} posts copied in {loaded_posts - loaded_users:.1f}s")

        await connection.execute("VACUUM ANALYZE")
        vacuumed = time.perf_counter()
        print(f"VACUUM ANALYZE in {vacuumed - loaded_posts:.1f}s")
        published_count = await connection.fetchval("SELECT count(*) FROM post WHERE status = 'published'")
        size = await connection.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await connection.close()
    print(f"done in {vacuumed - started:.1f}s: {published_count:,} published posts, database size {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=1_000_000, help="published posts")
    parser.add_argument("--drafts", type=int, default=20_000, help="draft posts, mixed in")
    arguments = parser.parse_args()
    asyncio.run(seed(arguments.users, arguments.posts, arguments.drafts))


if __name__ == "__main__":
    main()
