"""What the benchmark scripts share: where the bench database is, how to start servers, read wrk and RSS.

Nothing here runs in CI or in the test suite. The scripts are run by hand, from
the repository root, as `uv run python -m bench.<name>` (see bench/README.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy.engine import make_url

from app.core.config import AppSettings, AuthSettings, DatabaseSettings, Environment, RedisSettings, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
BENCH_DATABASE = os.environ.get("BENCH_DATABASE", "service_bench")
# A strong-looking secret that only the benchmarks use; the servers get it through AUTH_JWT_SECRET.
BENCH_JWT_SECRET = "bench-only-Zq7Xr2Lm9Tc4Vb8Nh3Kd6Wf1Yp5Gs0Ju"  # noqa: S105 - bench data, never deployed
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-not-secret"  # noqa: S105 - the seeded bench account's password
CPU_COUNT = os.cpu_count() or 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def server_database_url() -> str:
    """The PostgreSQL server named by DATABASE_URL (default: localhost), without a database chosen."""
    return os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@localhost:5432/service")


def bench_database_url(driver: str = "postgresql+asyncpg") -> str:
    url = make_url(server_database_url()).set(drivername=driver, database=BENCH_DATABASE)
    return url.render_as_string(hide_password=False)


def bench_settings(redis_url: str = "redis://localhost:6379/9") -> Settings:
    """The settings the bench servers run with, for scripts that need them in process (tokens, hashes)."""
    return Settings(
        app=AppSettings(_env_file=None, env=Environment.PRODUCTION),
        database=DatabaseSettings(_env_file=None, url=bench_database_url()),  # type: ignore[arg-type]
        redis=RedisSettings(_env_file=None, url=redis_url),  # type: ignore[arg-type]
        auth=AuthSettings(_env_file=None, jwt_secret=BENCH_JWT_SECRET),  # type: ignore[arg-type]
    )


def server_environment(redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a bench API server: production settings against the bench database."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("APP_", "DATABASE_"))}
    environment.update(
        {
            "APP_ENV": "production",
            "APP_LOG_LEVEL": "INFO",
            "DATABASE_URL": bench_database_url(),
            "REDIS_URL": redis_url,
            "AUTH_JWT_SECRET": BENCH_JWT_SECRET,
            # One load generator is one address: keep the anonymous-read limit counted but out of reach.
            "RATE_LIMIT_ANONYMOUS_READ": "1000000/second",
            "PYTHONPATH": str(REPO_ROOT),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    environment.update(extra)
    return environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    command: list[str]
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The processes that serve requests: the children of a supervisor, else the process itself."""
        children = descendants(self.process.pid)
        return children or [self.process.pid]

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    for child in _children(pid):
        found.append(child)
        found.extend(descendants(child))
    return found


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat, fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def pinned(command: Sequence[str], cpus: str | None) -> list[str]:
    """Prefix `taskset -c CPUS` when pinning is asked for and possible."""
    if cpus is None or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", cpus, *command]


@contextlib.contextmanager
def running_server(
    name: str,
    command: list[str],
    port: int,
    environment: dict[str, str],
    *,
    ready_path: str = "/health/live",
    cwd: Path = REPO_ROOT,
) -> Iterator[Server]:
    """Start a server in its own process group, wait until it answers, stop it (SIGTERM, then SIGKILL)."""
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log.name)
    process = subprocess.Popen(
        command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(name, command, port, process, log_path)
    try:
        _wait_until_ready(server, ready_path)
        yield server
    finally:
        _stop(process, log)
        log_path.unlink(missing_ok=True)


@contextlib.contextmanager
def running_server_process(
    name: str,
    command: list[str],
    environment: dict[str, str],
    *,
    ready_line: str,
    timeout: float = 60.0,
    cwd: Path = REPO_ROOT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process that serves no HTTP (the worker); ready once `ready_line` appears in its output."""
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    log_path = Path(log.name)
    process = subprocess.Popen(
        command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + timeout
        while ready_line not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)  # noqa: TID251 - a synchronous script, no event loop here
        yield process
    finally:
        _stop(process, log)
        log_path.unlink(missing_ok=True)


def _wait_until_ready(server: Server, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.base_url + path, timeout=1).status_code == 200:
                # Every worker of a supervisor must be up, not only the first to answer.
                time.sleep(1.0)  # noqa: TID251 - a synchronous script, no event loop here
                return
        time.sleep(0.2)  # noqa: TID251 - a synchronous script, no event loop here
    raise RuntimeError(f"{server.name} was not ready within {timeout}s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.close()


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway redis-server on a free port (no persistence), so no shared Redis database is touched."""
    port = free_port()
    directory = tempfile.mkdtemp(prefix="bench-redis-")
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)  # noqa: TID251 - a synchronous script, no event loop here
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


# --- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests_per_second=float(rps[1]),
        p50_ms=_to_ms(p50[1]),
        p99_ms=_to_ms(p99[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        errors=sum(int(value) for value in errors.groups()) if errors else 0,
    )


@dataclass
class LoadRun:
    wrk: WrkResult
    rss_mb: dict[int, float] = field(default_factory=dict)  # peak VmRSS per serving process
    cpu_seconds: float = 0.0  # CPU time the serving processes used during the run
    duration_seconds: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """The servers' CPU time per answered request: the number load on the machine moves least."""
        requests = self.wrk.requests_per_second * self.duration_seconds
        return 1000 * self.cpu_seconds / requests if requests else float("nan")


def run_wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    headers: Sequence[str] = (),
    cpus: str | None = None,
    watch_pids: Sequence[int] = (),
) -> LoadRun:
    """One wrk run; samples the VmRSS of `watch_pids` while it runs and keeps each one's peak."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    cpu_before = sum(cpu_seconds(pid) for pid in watch_pids)
    process = subprocess.Popen([*pinned(command, cpus), url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peaks = dict.fromkeys(watch_pids, 0.0)
    while process.poll() is None:
        for pid in peaks:
            peaks[pid] = max(peaks[pid], rss_mb(pid))
        time.sleep(0.25)  # noqa: TID251 - a synchronous script, no event loop here
    output = process.communicate()[0].decode()
    cpu_used = sum(cpu_seconds(pid) for pid in watch_pids) - cpu_before
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{output}")
    return LoadRun(parse_wrk(output), peaks, cpu_seconds=cpu_used, duration_seconds=duration)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """min-max of the repeats, to show the noise next to the median."""
    return f"{min(values):,.0f}-{max(values):,.0f}" if values else "-"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
