"""How long requests wait for a pooled connection: the stock async pool against `FairAsyncPool`.

    uv run python -m bench.pool_fairness [--clients 32] [--seconds 8] [--repeats 3]

No HTTP, no app: `--clients` tasks in one process each check a connection out, run one
`SELECT` on the bench database, give it back and start again, for `--seconds`. Every
checkout's wait is recorded. Pools, in turn within each repeat (so noise on the machine hits
each alike): the stock `AsyncAdaptedQueuePool` at 10 + 5 (the old default) and at 16 + 0, and
`FairAsyncPool` at 10 + 5 and at 16 + 0. Prints, per pool: checkouts/s, wait p50/p99/max,
checkouts that waited over 1 s, and how many connections were opened (churn).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool

from app.db.pool import FairAsyncPool
from bench.common import bench_database_url, load_average, median, percentile

POOLS: dict[str, tuple[type[Pool], int, int]] = {
    "stock 10+5": (AsyncAdaptedQueuePool, 10, 5),
    "stock 16+0": (AsyncAdaptedQueuePool, 16, 0),
    "fair 10+5": (FairAsyncPool, 10, 5),
    "fair 16+0": (FairAsyncPool, 16, 0),
}


async def run(pool_class: type[Pool], size: int, overflow: int, clients: int, seconds: float) -> dict[str, float]:
    engine = create_async_engine(
        bench_database_url(),
        poolclass=pool_class,
        pool_size=size,
        max_overflow=overflow,
        pool_timeout=30,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
    )
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(engine.sync_engine.pool, "connect", count)
    waits: list[float] = []
    statement = text("SELECT 1")
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            asked = time.monotonic()
            async with engine.connect() as connection:
                waits.append(time.monotonic() - asked)
                await connection.execute(statement)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.monotonic() - started
    await engine.dispose()
    return {
        "per_second": len(waits) / elapsed,
        "p50_ms": 1000 * percentile(waits, 0.50),
        "p99_ms": 1000 * percentile(waits, 0.99),
        "max_ms": 1000 * max(waits),
        "over_1s": sum(wait > 1 for wait in waits),
        "opened": opened,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    print(f"{arguments.clients} clients, {arguments.seconds:.0f} s per pool, load average {load_average()}")
    results: dict[str, list[dict[str, float]]] = defaultdict(list)
    for repeat in range(1, arguments.repeats + 1):
        for name, (pool_class, size, overflow) in POOLS.items():
            result = asyncio.run(run(pool_class, size, overflow, arguments.clients, arguments.seconds))
            results[name].append(result)
            print(f"[{repeat}/{arguments.repeats}] {name:<11} " + "  ".join(f"{k} {v:,.1f}" for k, v in result.items()))
    header = f"{'pool':<11} {'checkouts/s':>11} {'wait p50 ms':>11} {'p99 ms':>8} {'max ms':>8} {'>1 s':>5}"
    print(f"\n{header} {'opened':>7}")
    for name, samples in results.items():

        def med(key: str, samples: list[dict[str, float]] = samples) -> float:
            return median([sample[key] for sample in samples])

        print(
            f"{name:<11} {med('per_second'):>11,.0f} {med('p50_ms'):>11.2f} {med('p99_ms'):>8.1f} "
            f"{med('max_ms'):>8.1f} {med('over_1s'):>5.0f} {med('opened'):>7.0f}"
        )


if __name__ == "__main__":
    main()
