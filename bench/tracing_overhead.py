"""Tracing off and on, same run: CPU milliseconds per request of the API on the hot reads.

One uvicorn process (uvloop + httptools, production settings) pinned to CPU 0, wrk pinned
to CPU 1, the three hot reads of bench.load. Configurations alternate within each repeat,
so noise on this shared machine hits one sample of each. CPU time is the serving process's
utime + stime over the wrk run (from /proc), divided by the requests wrk completed: it counts
the work tracing adds even where throughput is bound elsewhere.

  off        no OTEL_* variable: nothing installed (the default)
  on, 100%   OTEL_EXPORTER_OTLP_ENDPOINT at a local sink, every request sampled
  on, 10%    the same with OTEL_TRACES_SAMPLER=parentbased_traceidratio, ratio 0.1

The sink is an HTTP server in this process answering 200 to every export, so export
costs what it costs against a healthy collector.

`--in-process` measures the same three configurations without wrk or a server process:
the three apps run side by side in this process behind httpx's ASGI transport, in
alternating blocks of requests, and each block's CPU time (`time.process_time()`, all of
this process's threads, the exporter's included) is divided by its requests. It includes
the client's CPU too, the same for all three, so compare the differences, not the totals.
On a busy machine it is far steadier than wrk: other processes' load does not count.

    uv run python -m bench.seed   # once
    uv run python -m bench.tracing_overhead
    uv run python -m bench.tracing_overhead --in-process
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from app.core import tracing
from app.main import create_app
from bench.common import (
    LoadRun,
    bench_settings,
    free_port,
    load_average,
    median,
    pinned,
    private_redis,
    run_wrk,
    running_server,
)
from bench.common import server_environment as base_environment
from bench.load import UVICORN, Target, find_target

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "off": {},
    "on, 100%": {"OTEL_TRACES_SAMPLER": "parentbased_always_on"},
    "on, 10%": {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"},
}


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002, ARG002 - the stdlib's signature; silent
        return


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def measure(
    name: str, target: Target, redis_url: str, sink_port: int, *, duration: int, connections: int, port: int
) -> dict[str, tuple[LoadRun, float]]:
    environment = base_environment(redis_url)
    environment = {key: value for key, value in environment.items() if not key.startswith("OTEL_")}
    if name != "off":
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink_port}"
        environment.update(CONFIGURATIONS[name])
    command = [UVICORN, "app.main:app", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop"]
    command += ["--http", "httptools", "--no-access-log"]
    results: dict[str, tuple[LoadRun, float]] = {}
    with running_server(name, pinned(command, "0"), port, environment) as server:
        [pid] = server.pids()
        for read, (path, headers) in target.requests().items():
            url = server.base_url + path
            run_wrk(url, duration=2, connections=connections, headers=headers, cpus="1")  # warm-up, discarded
            before = cpu_seconds(pid)
            run = run_wrk(url, duration=duration, connections=connections, headers=headers, cpus="1")
            used = cpu_seconds(pid) - before
            if run.wrk.non_2xx:
                raise RuntimeError(f"{name} {read}: {run.wrk.non_2xx} non-2xx\n{server.log_tail()}")
            requests = run.wrk.requests_per_second * duration
            results[read] = (run, 1000 * used / requests)
    return results


async def measure_in_process(target: Target, redis_url: str, sink_port: int, *, blocks: int, size: int) -> None:
    settings = bench_settings(redis_url)
    apps = {}
    for name, variables in CONFIGURATIONS.items():
        provider = None
        if name != "off":
            environ = {**os.environ, **variables, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}"}
            with _environment(environ):  # the SDK reads the sampler from the environment
                provider = tracing.build_provider("bench", tracing.batch_processor(environ), environ=environ)
        apps[name] = (create_app(settings, tracer_provider=provider), provider)
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, (app, _) in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://bench")
            )
        per_request = await _run_blocks(clients, target, blocks=blocks, size=size)
    for _, provider in apps.values():
        if provider is not None:
            provider.shutdown()
    print(f"\n{'configuration':<10} {'read':<5} {'CPU ms/req':>11} {'(spread)':>15} {'x off':>6} {'+ms':>6}")
    for name, reads in per_request.items():
        for read, samples in reads.items():
            cpu, off = median(samples), median(per_request["off"][read])
            spread = f"({min(samples):.3f}-{max(samples):.3f})"
            print(f"{name:<10} {read:<5} {cpu:>11.3f} {spread:>15} {cpu / off:>6.2f} {cpu - off:>+6.3f}")


async def _run_blocks(
    clients: dict[str, httpx.AsyncClient], target: Target, *, blocks: int, size: int
) -> dict[str, dict[str, list[float]]]:
    """CPU ms per request of each block, by configuration and read; configurations alternate block by block."""
    per_request: dict[str, dict[str, list[float]]] = {name: {} for name in clients}
    for block in range(blocks + 1):  # the first round warms every path up and is discarded
        for read, (path, headers) in target.requests().items():
            header_map = dict(header.split(": ", 1) for header in headers)
            for name, client in clients.items():
                started = time.process_time()
                for _ in range(size):
                    response = await client.get(path, headers=header_map)
                    if response.status_code != 200:
                        raise RuntimeError(f"{name} {read}: {response.status_code} {response.text}")
                if block:
                    per_request[name].setdefault(read, []).append(1000 * (time.process_time() - started) / size)
    return per_request


@contextlib.contextmanager
def _environment(environ: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="the API's port (default: a free one)")
    parser.add_argument("--sink-port", type=int, default=0, help="the OTLP sink's port (default: a free one)")
    parser.add_argument("--in-process", action="store_true", help="ASGI in this process, CPU time per block")
    parser.add_argument("--blocks", type=int, default=10, help="--in-process: blocks per configuration and read")
    parser.add_argument("--block-size", type=int, default=200, help="--in-process: requests per block")
    arguments = parser.parse_args()

    target = asyncio.run(find_target())
    sink = ThreadingHTTPServer(("127.0.0.1", arguments.sink_port), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    if arguments.in_process:
        print(f"load average before: {load_average()}")
        try:
            with private_redis() as redis_url:
                asyncio.run(
                    measure_in_process(
                        target, redis_url, sink.server_address[1], blocks=arguments.blocks, size=arguments.block_size
                    )
                )
        finally:
            sink.shutdown()
            sink.server_close()
        print(f"load average after: {load_average()}")
        return
    samples: dict[str, dict[str, list[tuple[LoadRun, float]]]] = {name: {} for name in CONFIGURATIONS}
    print(f"load average before: {load_average()}")
    try:
        with private_redis() as redis_url:
            for repeat in range(arguments.repeats):
                for name in CONFIGURATIONS:
                    measured = measure(
                        name,
                        target,
                        redis_url,
                        sink.server_address[1],
                        duration=arguments.duration,
                        connections=arguments.connections,
                        port=arguments.port or free_port(),
                    )
                    for read, sample in measured.items():
                        samples[name].setdefault(read, []).append(sample)
                print(f"repeat {repeat + 1}/{arguments.repeats} done; load average {load_average()}")
    finally:
        sink.shutdown()
        sink.server_close()

    print(f"\n{'configuration':<10} {'read':<5} {'req/s':>7} {'p99 ms':>7} {'CPU ms/req':>11} {'x off':>6}")
    for name in CONFIGURATIONS:
        for read, runs in samples[name].items():
            cpu = median([per_request for _, per_request in runs])
            off = median([per_request for _, per_request in samples["off"][read]])
            rps = median([run.wrk.requests_per_second for run, _ in runs])
            p99 = median([run.wrk.p99_ms for run, _ in runs])
            print(f"{name:<10} {read:<5} {rps:>7,.0f} {p99:>7.2f} {cpu:>11.3f} {cpu / off:>6.2f}")


if __name__ == "__main__":
    main()
