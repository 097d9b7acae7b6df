"""Keyset pages on a million posts: the first page against the last one, and what OFFSET would cost there.

    uv run python -m bench.seed          # once: a million published posts
    uv run python -m bench.pagination [--requests 300] [--repeats 3]

1. GET /v1/posts?limit=20 and GET /v1/posts?limit=20&cursor=<the last page's cursor> (the
   cursor of the row about a million rows deep, found by walking there in SQL) through the
   whole app in process (httpx ASGITransport: routing, dependencies, the repository, Pydantic),
   interleaved, `--requests` each per repeat: p50/p99 of each and the deep/first ratio.
2. The SQL the repository really sends (captured from the engine while
   `posts_repository.list_published_page` runs) under EXPLAIN (ANALYZE, BUFFERS), for both
   pages: the plan must walk `ix_post_published_created_at_id` and must not sort.
3. For contrast, the same query with OFFSET at the same depth, under EXPLAIN ANALYZE.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import AppSettings, Environment, Settings
from app.main import create_app
from app.repositories import posts as posts_repository
from app.resources import Resources, open_resources
from app.schemas.page import KeysetCursor, encode_cursor
from bench.common import bench_settings, load_average, median, percentile, private_redis

LIMIT = 20
INDEX = "ix_post_published_created_at_id"


def quiet(settings: Settings) -> Settings:
    # No access line per request: the bench measures the request, not the terminal.
    app = AppSettings(_env_file=None, env=Environment.PRODUCTION, log_level="WARNING")
    return settings.model_copy(update={"app": app})


@asynccontextmanager
async def served_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client,
    ):
        yield client


async def asyncpg_of(connection: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy one, to run EXPLAIN with the driver's own parameters."""
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("no driver connection")
    return driver


async def deep_cursor(resources: Resources) -> tuple[KeysetCursor, int]:
    """Walk the list's own order in SQL to the row just before the last page: a real cursor, ~1M rows deep."""
    async with resources.engine.connect() as connection:
        driver = await asyncpg_of(connection)
        published = await driver.fetchval("SELECT count(*) FROM post WHERE status = 'published'")
        depth = published - LIMIT
        row = await driver.fetchrow(
            "SELECT created_at, id FROM post WHERE status = 'published' "
            "ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
            depth - 1,
        )
    if row is None:
        raise SystemExit("the bench database is empty: run `uv run python -m bench.seed` first")
    return KeysetCursor(row["created_at"], row["id"]), depth


async def captured_sql(resources: Resources, after: KeysetCursor | None) -> tuple[str, tuple[Any, ...]]:
    """The statement and parameters the repository sends for this page, as the driver receives them."""
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        seen.append((statement, tuple(parameters or ())))

    event.listen(resources.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with resources.session_factory() as session:
            await posts_repository.list_published_page(session, author_id=None, q=None, after=after, limit=LIMIT)
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", capture)
    statements = [entry for entry in seen if entry[0].lstrip().upper().startswith("SELECT")]
    return statements[-1]


async def explain(resources: Resources, statement: str, parameters: tuple[Any, ...]) -> str:
    async with resources.engine.connect() as connection:
        driver = await asyncpg_of(connection)
        rows = await driver.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
    return "\n".join(row[0] for row in rows)


def execution_ms(plan: str) -> float:
    match = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return float(match[1]) if match else float("nan")


def uses_the_index(plan: str) -> bool:
    return INDEX in plan and "Sort" not in plan and "Seq Scan" not in plan


async def time_pages(client: httpx.AsyncClient, cursor: str, requests: int) -> tuple[list[float], list[float]]:
    first: list[float] = []
    deep: list[float] = []
    for _ in range(50):  # warm-up: pool, statement caches, the index's pages
        (await client.get("/v1/posts", params={"limit": LIMIT})).raise_for_status()
        (await client.get("/v1/posts", params={"limit": LIMIT, "cursor": cursor})).raise_for_status()
    for _ in range(requests):
        pages: list[tuple[dict[str, str | int], list[float]]] = [
            ({"limit": LIMIT}, first),
            ({"limit": LIMIT, "cursor": cursor}, deep),
        ]
        for params, samples in pages:
            started = time.perf_counter()
            response = await client.get("/v1/posts", params=params)
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            if len(response.json()["items"]) != LIMIT:
                raise RuntimeError(f"expected a full page: {response.text[:200]}")
    return first, deep


async def main(requests: int, repeats: int) -> None:
    print(f"load average {load_average()}")
    with private_redis() as redis_url:
        settings = quiet(bench_settings(redis_url))
        async with open_resources(settings, application_name="bench-pagination") as resources:
            cursor, depth = await deep_cursor(resources)
            print(f"deep page: the {LIMIT} rows after row {depth:,} of the newest-first list")
            plans = {}
            for name, after in (("keyset first page", None), ("keyset deep page", cursor)):
                statement, parameters = await captured_sql(resources, after)
                plans[name] = (statement, parameters)
            first_sql, first_parameters = plans["keyset first page"]
            # OFFSET: the repository's own first-page statement, told to skip to the same depth.
            plans["OFFSET same depth"] = (f"{first_sql} OFFSET {depth}", first_parameters)

            explained: dict[str, list[float]] = {name: [] for name in plans}
            last_plan: dict[str, str] = {}
            for _ in range(repeats):
                for name, (statement, parameters) in plans.items():
                    plan = await explain(resources, statement, parameters)
                    explained[name].append(execution_ms(plan))
                    last_plan[name] = plan

        page_timings: list[tuple[float, float, float, float]] = []
        async with served_app(settings) as client:
            for _ in range(repeats):
                first, deep = await time_pages(client, encode_cursor(cursor), requests)
                page_timings.append((median(first), percentile(first, 0.99), median(deep), percentile(deep, 0.99)))

    print("\nSQL the repository sends (deep page):")
    print(f"  {plans['keyset deep page'][0]}")
    for name, plan in last_plan.items():
        verdict = "" if name.startswith("OFFSET") else f"  uses {INDEX}, no sort: {uses_the_index(plan)}"
        print(f"\nEXPLAIN ANALYZE, {name}:{verdict}")
        print("\n".join(f"  {line}" for line in plan.splitlines()))

    print(f"\n{'query (EXPLAIN ANALYZE execution time)':<40} {'median ms':>10} {'runs':>24}")
    for name, times in explained.items():
        print(f"{name:<40} {median(times):>10.3f} {', '.join(f'{value:.3f}' for value in times):>24}")

    first_p50 = median([timing[0] for timing in page_timings])
    deep_p50 = median([timing[2] for timing in page_timings])
    print(f"\nGET /v1/posts through the app, {requests} requests each, {repeats} repeats (medians of the repeats):")
    print(f"  first page  p50 {first_p50:.2f} ms  p99 {median([t[1] for t in page_timings]):.2f} ms")
    print(f"  deep page   p50 {deep_p50:.2f} ms  p99 {median([t[3] for t in page_timings]):.2f} ms")
    print(f"  deep / first (p50): {deep_p50 / first_p50:.2f}x  (target <= 1.2x)")
    offset_ratio = median(explained["OFFSET same depth"]) / median(explained["keyset deep page"])
    print(f"  OFFSET at that depth / keyset deep page (SQL time): {offset_ratio:,.0f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.repeats))
