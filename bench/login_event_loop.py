"""Does /health/live keep answering while 16 logins hash passwords? Against a real uvicorn server.

    uv run python -m bench.seed          # once: the bench account, with a production argon2id hash
    uv run python -m bench.login_event_loop [--logins 16] [--repeats 3]

Starts the production serving command (the Dockerfile's CMD, on a free port; and the same
command with one process, the harsher case) with the production argon2id settings
(AUTH_ARGON2_* defaults: 19 MiB, 2 passes) and rate limits off, against the bench database
and a private redis-server. Each repeat: probes /health/live alone (the baseline), then
starts `--logins` concurrent POST /v1/auth/token for the bench account and probes
/health/live back to back until they are all answered. Prints p50/max of the probes, and
how long the logins took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import httpx

from bench.common import (
    BENCH_EMAIL,
    BENCH_PASSWORD,
    REPO_ROOT,
    VENV_BIN,
    free_port,
    load_average,
    median,
    private_redis,
    running_server,
    server_environment,
)


def dockerfile_command() -> list[str]:
    for line in (REPO_ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            command: list[str] = json.loads(line.removeprefix("CMD "))
            return command
    raise RuntimeError("the Dockerfile has no CMD")


def on_port(command: list[str], port: int, *, single_process: bool) -> list[str]:
    adapted = [str(VENV_BIN / command[0]), *command[1:]]
    adapted[adapted.index("--host") + 1] = "127.0.0.1"
    adapted[adapted.index("--port") + 1] = str(port)
    if single_process and "--workers" in adapted:
        index = adapted.index("--workers")
        del adapted[index : index + 2]
    return adapted


async def probe(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.get("/health/live")
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def one_round(base_url: str, logins: int) -> tuple[list[float], list[float], float]:
    form = {"username": BENCH_EMAIL, "password": BENCH_PASSWORD}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=60) as prober,
        httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=logins)) as client,
    ):
        idle = [await probe(prober) for _ in range(100)]
        started = time.perf_counter()
        batch = asyncio.gather(*(client.post("/v1/auth/token", data=form) for _ in range(logins)))
        busy: list[float] = []
        while not batch.done():
            busy.append(await probe(prober))
        responses = await batch
        elapsed = time.perf_counter() - started
    failed = [response.status_code for response in responses if response.status_code != 200]
    if failed:
        raise RuntimeError(f"logins failed: {failed}")
    return idle, busy, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logins", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args()
    production = dockerfile_command()
    print(f"load average {load_average()}; production command: {' '.join(production)}")
    with private_redis() as redis_url:
        environment = server_environment(redis_url, RATE_LIMIT_ENABLED="false")
        for single in (False, True):
            port = free_port()
            command = on_port(production, port, single_process=single)
            label = "1 process" if single else "production command"
            with running_server(label, command, port, environment) as server:
                rounds = [asyncio.run(one_round(server.base_url, arguments.logins)) for _ in range(arguments.repeats)]
            print(f"\n{label}: {' '.join(command[1:])}")
            for index, (idle, busy, elapsed) in enumerate(rounds, 1):
                print(
                    f"  repeat {index}: idle p50 {median(idle):.2f} ms max {max(idle):.2f} ms | "
                    f"during {arguments.logins} logins ({len(busy)} probes) p50 {median(busy):.2f} ms "
                    f"max {max(busy):.2f} ms | logins done in {elapsed:.2f}s"
                )
            print(
                f"  median of repeats: /health/live during logins p50 {median([median(r[1]) for r in rounds]):.2f} ms, "
                f"max {median([max(r[1]) for r in rounds]):.2f} ms; {arguments.logins} logins took "
                f"{median([r[2] for r in rounds]):.2f}s"
            )


if __name__ == "__main__":
    main()
