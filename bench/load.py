"""The service against the raw ceiling under wrk, for the three hot reads, in several serving configurations.

    uv run python -m bench.seed                       # once: the bench database
    uv run python -m bench.load [--duration 10] [--repeats 3] [--configs NAME ...]

Each configuration is started on a free port against the bench database (APP_ENV=production),
with a private redis-server, and driven by wrk (`-t1 -c32 --latency`, 2 s warm-up discarded) on:

- `me`    GET /v1/users/me with a valid bearer token (JWT decode + one SELECT by id)
- `post`  GET /v1/posts/{id} of a real published post
- `list`  GET /v1/posts?limit=20, the first keyset page

Single-process configurations are pinned with `taskset`: the server on CPU 0, wrk on CPU 1.
Two-process configurations need both cores, so nothing is pinned (wrk and PostgreSQL then
share the cores with the servers; the ratio to the two-process ceiling is the fair one).
PostgreSQL is never pinned. Prints, per configuration and read: req/s, p50, p99 (medians of
`--repeats` runs, with the req/s spread), the ratio to the ceiling of the same shape, and the
peak VmRSS of each serving process during the runs.

`--variant NAME=DIR` adds the service as checked out in DIR (e.g. `git archive HEAD~1 | tar -x -C DIR`),
with one process and with two, to the same run: an A/B of two revisions under the same machine load.
The report adds the servers' CPU ms per request (from /proc) and p99/p50.

granian is measured when `--granian PATH` names a granian executable installed outside the
project (e.g. `python3 -m venv /opt/benchtools && /opt/benchtools/bin/pip install granian`);
it imports the project through PYTHONPATH.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sysconfig
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from app.core.security import create_access_token
from bench.common import (
    BENCH_EMAIL,
    CPU_COUNT,
    REPO_ROOT,
    VENV_BIN,
    LoadRun,
    bench_database_url,
    bench_settings,
    free_port,
    load_average,
    median,
    pinned,
    private_redis,
    run_wrk,
    running_server,
    server_environment,
    spread,
)

UVICORN = str(VENV_BIN / "uvicorn")
PRODUCTION_FLAGS = ["--no-access-log", "--timeout-graceful-shutdown", "20"]


@dataclass(frozen=True)
class Config:
    name: str
    ceiling: bool  # the raw app, not the service
    workers: int
    kind: str  # uvicorn-fast | uvicorn-h11 | granian
    source: Path = REPO_ROOT  # the checkout the service is imported from

    def command(self, port: int, granian: str | None) -> list[str]:
        target = "bench.ceiling.app:app" if self.ceiling else "app.main:app"
        if self.kind == "granian":
            if granian is None:
                raise ValueError("granian configurations need --granian")
            return [
                *(granian, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
                *("--workers", str(self.workers), "--loop", "uvloop", target),
            ]
        loop, http = ("uvloop", "httptools") if self.kind == "uvicorn-fast" else ("asyncio", "h11")
        command = [UVICORN, target, "--host", "127.0.0.1", "--port", str(port), "--loop", loop, "--http", http]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        return command + PRODUCTION_FLAGS

    @property
    def pinned(self) -> bool:
        return self.workers == 1 and CPU_COUNT >= 2


CONFIGS = {
    config.name: config
    for config in (
        Config("ceiling 1p", ceiling=True, workers=1, kind="uvicorn-fast"),
        Config("uvicorn uvloop+httptools 1p", ceiling=False, workers=1, kind="uvicorn-fast"),
        Config("uvicorn asyncio+h11 1p", ceiling=False, workers=1, kind="uvicorn-h11"),
        Config("granian 1p", ceiling=False, workers=1, kind="granian"),
        Config("ceiling 2p", ceiling=True, workers=2, kind="uvicorn-fast"),
        Config("uvicorn uvloop+httptools 2p", ceiling=False, workers=2, kind="uvicorn-fast"),
        Config("uvicorn asyncio+h11 2p", ceiling=False, workers=2, kind="uvicorn-h11"),
        Config("granian 2p", ceiling=False, workers=2, kind="granian"),
    )
}


@dataclass(frozen=True)
class Target:
    token: str
    post_id: uuid.UUID

    def requests(self) -> dict[str, tuple[str, list[str]]]:
        return {
            "me": ("/v1/users/me", [f"Authorization: Bearer {self.token}"]),
            "post": (f"/v1/posts/{self.post_id}", []),
            "list": ("/v1/posts?limit=20", []),
        }


async def find_target() -> Target:
    connection = await asyncpg.connect(bench_database_url("postgresql"))
    try:
        user = await connection.fetchrow(
            'SELECT id, credentials_version, scopes FROM "user" WHERE email = $1', BENCH_EMAIL
        )
        post_id = await connection.fetchval(
            "SELECT id FROM post WHERE status = 'published' ORDER BY created_at DESC OFFSET 500 LIMIT 1"
        )
    finally:
        await connection.close()
    if user is None or post_id is None:
        raise SystemExit("the bench database is empty: run `uv run python -m bench.seed` first")
    settings = bench_settings()
    # A token far from expiry is not needed: runs are minutes long and the TTL is 15 minutes; re-issued per run.
    access = create_access_token(
        user_id=user["id"],
        scopes=frozenset(user["scopes"]),
        credentials_version=user["credentials_version"],
        settings=settings,
    )
    return Target(token=access.token, post_id=post_id)


def granian_environment(granian: str) -> dict[str, str]:
    # granian lives in a venv of its own; it finds the project and its dependencies through PYTHONPATH.
    site_packages = sysconfig.get_paths()["purelib"]
    path = f"{Path(granian).parent}:{VENV_BIN}:{os.environ.get('PATH', '')}"
    return {"PYTHONPATH": f"{REPO_ROOT}:{site_packages}", "PATH": path}


def measure(
    config: Config, target: Target, redis_url: str, *, duration: int, connections: int, granian: str | None
) -> dict[str, LoadRun]:
    """Start one configuration, run wrk on each read (after a discarded warm-up), stop it."""
    port = free_port()
    extra = granian_environment(granian) if config.kind == "granian" and granian else {}
    command = pinned(config.command(port, granian), "0" if config.pinned else None)
    wrk_cpus = "1" if config.pinned else None
    results: dict[str, LoadRun] = {}
    if config.source != REPO_ROOT:
        extra["PYTHONPATH"] = str(config.source)
    environment = server_environment(redis_url, **extra)
    with running_server(config.name, command, port, environment, cwd=config.source) as server:
        pids = server.pids()
        for read, (path, headers) in target.requests().items():
            url = server.base_url + path
            warm_up = run_wrk(url, duration=2, connections=connections, headers=headers, cpus=wrk_cpus)
            run = run_wrk(
                url, duration=duration, connections=connections, headers=headers, cpus=wrk_cpus, watch_pids=pids
            )
            # An error answer means the numbers measure the wrong thing: stop. A socket error or two
            # (a connection cut as wrk stops) is reported in the table, not fatal.
            for checked in (warm_up, run):
                if checked.wrk.non_2xx:
                    raise RuntimeError(f"{config.name} {read}: {checked.wrk.non_2xx} non-2xx\n{server.log_tail()}")
            results[read] = run
    return results


def report(runs: dict[str, dict[str, list[LoadRun]]], configs: list[Config]) -> None:
    reads = ["me", "post", "list"]
    ceilings = {1: "ceiling 1p", 2: "ceiling 2p"}
    print()
    print(f"{'configuration':<30} {'read':<5} {'req/s':>7} {'(spread)':>13} {'p50 ms':>7} {'p99 ms':>7}", end="")
    print(f" {'p99/p50':>7} {'x ceiling':>8} {'CPU ms/req':>10} {'RSS MB':>12} {'sock err':>8}")
    for config in configs:
        for read in reads:
            samples = runs[config.name][read]
            rps = [sample.wrk.requests_per_second for sample in samples]
            ceiling_runs = runs.get(ceilings[config.workers], {}).get(read, [])
            ceiling_rps = median([sample.wrk.requests_per_second for sample in ceiling_runs])
            ratio = median(rps) / ceiling_rps if ceiling_runs else float("nan")
            peak_rss: dict[int, float] = defaultdict(float)
            for sample in samples:
                for index, value in enumerate(sorted(sample.rss_mb.values())):
                    peak_rss[index] = max(peak_rss[index], value)
            rss = "/".join(f"{value:.0f}" for value in peak_rss.values())
            p50 = median([s.wrk.p50_ms for s in samples])
            p99 = median([s.wrk.p99_ms for s in samples])
            cpu = median([s.cpu_ms_per_request for s in samples])
            print(
                f"{config.name:<30} {read:<5} {median(rps):>7,.0f} {'(' + spread(rps) + ')':>13} "
                f"{p50:>7.2f} {p99:>7.2f} {p99 / p50:>7.1f} {ratio:>8.2f} {cpu:>10.2f} {rss:>12} "
                f"{sum(sample.wrk.errors for sample in samples):>8}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--granian", help="path to a granian executable (outside the project)")
    parser.add_argument("--configs", nargs="*", help=f"default: all that can run; of {sorted(CONFIGS)}")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=DIR", help="another checkout")
    arguments = parser.parse_args()
    for variant in arguments.variant:
        name, _, directory = variant.partition("=")
        for workers in (1, 2):
            config = Config(f"{name} {workers}p", ceiling=False, workers=workers, kind="uvicorn-fast")
            CONFIGS[config.name] = replace(config, source=Path(directory).resolve())

    names = arguments.configs or [
        name for name, config in CONFIGS.items() if config.kind != "granian" or arguments.granian
    ]
    configs = [CONFIGS[name] for name in names]
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {CPU_COUNT} CPUs, load average {load_average()}")
    print(f"wrk -t1 -c{arguments.connections} -d{arguments.duration}s --latency, {arguments.repeats} repeats")
    runs: dict[str, dict[str, list[LoadRun]]] = defaultdict(lambda: defaultdict(list))
    with private_redis() as redis_url:
        # Repeats go round every configuration in turn, so a burst of noise from another
        # process on the machine lands on one sample of each, not on all samples of one.
        for repeat in range(1, arguments.repeats + 1):
            target = asyncio.run(find_target())
            for config in configs:
                started = time.monotonic()
                results = measure(
                    config,
                    target,
                    redis_url,
                    duration=arguments.duration,
                    connections=arguments.connections,
                    granian=arguments.granian,
                )
                for read, run in results.items():
                    runs[config.name][read].append(run)
                summary = "  ".join(f"{read} {run.wrk.requests_per_second:,.0f}/s" for read, run in results.items())
                print(
                    f"[{repeat}/{arguments.repeats}] {config.name:<30} {summary}"
                    f"  ({time.monotonic() - started:.0f}s, load {load_average()})",
                    flush=True,
                )
    report(runs, configs)


if __name__ == "__main__":
    main()
