"""Jobs through the whole pipe (outbox -> relay -> Arq -> worker), and what the outbox write adds to a request.

    uv run python -m bench.seed          # once: the bench database (users to welcome)
    uv run python -m bench.jobs_throughput [--jobs 5000] [--repeats 3] [--samples 1000] [--processes 1 2]
    uv run python -m bench.jobs_throughput --variant OLD=/tmp/jobs-old --processes 1 2   # an A/B in one run

Throughput: starts worker processes (`python -m bench.jobs_worker`: the real
settings, relay, runner and `send_welcome_email`, with the rendered e-mail dropped instead of
sent) against the bench database and a private redis-server; commits `--jobs` outbox rows
through the real `outbox.enqueue` in one transaction, then waits until every row is marked
processed. Reports jobs/s from the commit to the last `processed_at`, and the CPU the worker
processes used per job (user + system, from /proc).

`--processes 1 2` measures each number of worker processes. `--variant NAME=DIR` adds the worker
of another checkout (`git archive main | tar -x -C DIR`), imported from DIR with this project's
environment, to the same run: repeats go round OLD and NEW in turn, so both see the same machine
load. The workers start afresh for each run.

Outbox write cost: `--samples` sign-up-like transactions (insert a user, flush, commit) with
and without `outbox.enqueue(send_welcome_email)` in the same transaction, interleaved; p50/p99
of each, the difference, and the time of the enqueue call itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, select

from app.core.config import AppSettings, Environment, JobSettings, Settings
from app.db.session import unit_of_work
from app.models.outbox import JobOutbox
from app.models.user import User
from app.repositories import users as users_repository
from app.resources import Resources, open_resources
from app.schemas.jobs import JobName, WelcomeEmail
from app.services import outbox as outbox_service
from bench.common import (
    CPU_COUNT,
    REPO_ROOT,
    VENV_BIN,
    bench_settings,
    cpu_seconds,
    descendants,
    load_average,
    median,
    percentile,
    private_redis,
    running_server_process,
    server_environment,
)

EMAIL_PREFIX = "outbox-bench-"
NOT_A_HASH = "not-a-hash"  # rows that exist for a moment and never sign in


def quiet(settings: Settings) -> Settings:
    app = AppSettings(_env_file=None, env=Environment.PRODUCTION, log_level="WARNING")
    return settings.model_copy(update={"app": app})


async def user_ids(resources: Resources, count: int) -> list[uuid.UUID]:
    async with resources.session_factory() as session:
        ids = list(await session.scalars(select(User.id).limit(count)))
    return (ids * (count // len(ids) + 1))[:count]


async def clear_outbox(resources: Resources) -> None:
    async with unit_of_work(resources.session_factory) as session:
        await session.execute(delete(JobOutbox))


async def push_and_wait(resources: Resources, jobs: int, wait_seconds: float) -> tuple[float, float]:
    """Commit `jobs` rows; return (seconds until the relay had queued them all, seconds until all processed)."""
    ids = await user_ids(resources, jobs)
    async with unit_of_work(resources.session_factory) as session:
        for user_id in ids:
            await outbox_service.enqueue(session, JobName.SEND_WELCOME_EMAIL, WelcomeEmail(user_id=user_id))
    committed = time.monotonic()
    relayed: float | None = None
    undispatched = func.count().filter(JobOutbox.dispatched_at.is_(None))
    unprocessed = func.count().filter(JobOutbox.processed_at.is_(None))
    while True:
        async with resources.session_factory() as session:
            not_queued, not_done = (await session.execute(select(undispatched, unprocessed))).one()
        now = time.monotonic()
        if relayed is None and not_queued == 0:
            relayed = now - committed
        if not_done == 0:
            return relayed or 0.0, now - committed
        if now - committed > wait_seconds:
            raise RuntimeError(f"{not_done} of {jobs} jobs still unprocessed after {wait_seconds}s")
        await asyncio.sleep(0.02)


async def one_run(settings: Settings, jobs: int) -> tuple[float, float]:
    async with open_resources(settings, application_name="bench-jobs") as resources:
        await clear_outbox(resources)
        try:
            return await push_and_wait(resources, jobs, wait_seconds=max(120.0, jobs / 20))
        finally:
            await clear_outbox(resources)


@dataclasses.dataclass
class Run:
    dispatched: float
    processed: float
    cpu_ms_per_job: float


def measure(config: Config, settings: Settings, environment: dict[str, str], jobs: int) -> Run:
    """Start the config's worker processes, push `jobs` rows, stop them; the CPU is the workers' own (/proc)."""
    with contextlib.ExitStack() as workers:
        processes = [
            workers.enter_context(
                running_server_process(
                    f"{config.name}-worker{index}",
                    worker_command(config.source),
                    {**environment, "PYTHONPATH": str(config.source)},
                    ready_line="worker started",
                    cwd=config.source,
                )
            )
            for index in range(config.processes)
        ]
        pids = [pid for process in processes for pid in [process.pid, *descendants(process.pid)]]
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        dispatched, processed = asyncio.run(one_run(settings, jobs))
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    return Run(dispatched, processed, cpu * 1000 / jobs)


def worker_command(source: Path) -> list[str]:
    """How the checkout in `source` starts its bench worker: its own entry point when it has one, else arq's CLI."""
    if "__main__" in (source / "bench" / "jobs_worker.py").read_text():
        return [str(VENV_BIN / "python"), "-m", "bench.jobs_worker"]
    return [str(VENV_BIN / "arq"), "bench.jobs_worker.BenchWorkerSettings"]


@dataclasses.dataclass
class Config:
    name: str
    source: Path
    processes: int


def throughput(configs: list[Config], settings: Settings, environment: dict[str, str], jobs: int, repeats: int) -> None:
    runs: dict[str, list[Run]] = {config.name: [] for config in configs}
    # Repeats go round every configuration in turn: a burst of noise from another process on
    # the machine lands on one sample of each, not on every sample of one.
    for repeat in range(1, repeats + 1):
        for config in configs:
            run = measure(config, settings, environment, jobs)
            runs[config.name].append(run)
            print(
                f"[{repeat}/{repeats}] {config.name}: {jobs:,} jobs, all queued by the relay after "
                f"{run.dispatched:.2f}s, all processed after {run.processed:.2f}s = {jobs / run.processed:,.0f} "
                f"jobs/s, worker CPU {run.cpu_ms_per_job:.2f} ms/job (load {load_average()})",
                flush=True,
            )
    print(f"\n{'configuration':<16} {'jobs/s (median)':>16} {'runs':>24} {'CPU ms/job':>11}  (target >= 500 jobs/s)")
    for name, samples in runs.items():
        rates = [jobs / run.processed for run in samples]
        cpu = median([run.cpu_ms_per_job for run in samples])
        listed = ", ".join(f"{rate:,.0f}" for rate in rates)
        print(f"{name:<16} {median(rates):>16,.0f} {listed:>24} {cpu:>11.2f}")


async def signup_like(resources: Resources, *, with_outbox: bool) -> tuple[float, float]:
    """One transaction shaped like sign-up minus the password hashing; (total ms, enqueue ms)."""
    enqueue_ms = 0.0
    started = time.perf_counter()
    async with unit_of_work(resources.session_factory) as session:
        email = f"{EMAIL_PREFIX}{uuid.uuid4().hex}@example.com"
        user = User(email=email, name="Bench", password_hash=NOT_A_HASH, scopes=[])
        user = await users_repository.add(session, user)
        if with_outbox:
            before = time.perf_counter()
            await outbox_service.enqueue(session, JobName.SEND_WELCOME_EMAIL, WelcomeEmail(user_id=user.id))
            enqueue_ms = (time.perf_counter() - before) * 1000
    return (time.perf_counter() - started) * 1000, enqueue_ms


async def outbox_cost(settings: Settings, samples: int, repeats: int) -> None:
    async with open_resources(settings, application_name="bench-outbox") as resources:
        rows = []
        for _ in range(repeats):
            with_outbox: list[float] = []
            without: list[float] = []
            enqueue: list[float] = []
            for _ in range(50):  # warm-up
                await signup_like(resources, with_outbox=True)
                await signup_like(resources, with_outbox=False)
            for _ in range(samples):
                total, enqueue_ms = await signup_like(resources, with_outbox=True)
                with_outbox.append(total)
                enqueue.append(enqueue_ms)
                without.append((await signup_like(resources, with_outbox=False))[0])
            rows.append(
                (
                    median(without),
                    percentile(without, 0.99),
                    median(with_outbox),
                    percentile(with_outbox, 0.99),
                    median(enqueue),
                    percentile(enqueue, 0.99),
                )
            )
        async with unit_of_work(resources.session_factory) as session:
            await session.execute(delete(JobOutbox))
            await session.execute(delete(User).where(User.email.startswith(EMAIL_PREFIX)))

    def mid(index: int) -> float:
        return median([row[index] for row in rows])

    print(f"\nsign-up-like transaction, {samples} of each per repeat, {repeats} repeats (medians of the repeats):")
    print(f"  without outbox.enqueue   p50 {mid(0):.3f} ms  p99 {mid(1):.3f} ms")
    print(f"  with outbox.enqueue      p50 {mid(2):.3f} ms  p99 {mid(3):.3f} ms")
    print(
        f"  added by the outbox      p50 {mid(2) - mid(0):+.3f} ms  p99 {mid(3) - mid(1):+.3f} ms  (target p50 <= 1 ms)"
    )
    print(f"  the enqueue call itself  p50 {mid(4):.3f} ms  p99 {mid(5):.3f} ms")
    for index, row in enumerate(rows, 1):
        print(f"  repeat {index}: " + "  ".join(f"{value:.3f}" for value in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000, help="transactions of each kind for the outbox cost")
    parser.add_argument(
        "--processes", type=int, nargs="+", default=[1], help="worker processes (each runs a relay too), e.g. 1 2"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="another checkout's worker beside this one's, e.g. OLD=/tmp/jobs-old (git archive REV | tar -x -C DIR)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the worker, e.g. JOBS_MAX_CONCURRENT_JOBS=10",
    )
    parser.add_argument("--skip-outbox-cost", action="store_true")
    arguments = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in arguments.set)
    sources = [("NEW" if arguments.variant else "this", REPO_ROOT)] + [
        (name, Path(directory).resolve()) for name, _, directory in (v.partition("=") for v in arguments.variant)
    ]
    configs = [
        Config(f"{name} {processes}p", source, processes)
        for processes in arguments.processes
        for name, source in sources
    ]

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {CPU_COUNT} CPUs, load average {load_average()}")
    jobs = JobSettings.model_validate(
        {name.removeprefix("JOBS_").lower(): value for name, value in overrides.items() if name.startswith("JOBS_")}
    )
    print(
        f"worker: max_jobs {jobs.max_concurrent_jobs}, relay batch {jobs.relay_batch_size}, relay idle "
        f"{jobs.relay_idle_seconds}s, poll_delay 0.05s; settings {overrides or '-'}; "
        f"configurations {', '.join(config.name for config in configs)}"
    )
    with private_redis() as redis_url:
        settings = quiet(bench_settings(redis_url))
        environment = server_environment(redis_url, APP_LOG_LEVEL="INFO", **overrides)
        throughput(configs, settings, environment, arguments.jobs, arguments.repeats)
        if not arguments.skip_outbox_cost:
            asyncio.run(outbox_cost(settings, arguments.samples, arguments.repeats))


if __name__ == "__main__":
    main()
