"""The production serving command, two processes, one scrape that counts every request (decision 0072)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import httpx
import pytest

from tests.ops.test_containers import DOCKERFILE, REPO_ROOT, VENV_BIN, dockerfile_stages, environment_of, image_command
from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.outages import closed_port

BATCH = 10
# Which process accepts a connection is the kernel's choice: batches go on until both have served
# some (on a busy machine one may take the first dozens alone), up to this many.
MAX_BATCHES = 50
READY_TIMEOUT_SECONDS = 30


def requests_counted(scrape: str, route: str) -> float:
    pattern = rf'^http_requests_total\{{method="GET",route="{re.escape(route)}",status="200"\}} (\S+)$'
    return sum(float(match) for match in re.findall(pattern, scrape, flags=re.MULTILINE))


def test_the_image_sets_an_empty_multiprocess_directory() -> None:
    final = dockerfile_stages(DOCKERFILE.read_text())[-1]
    directory = environment_of(final)["PROMETHEUS_MULTIPROC_DIR"]
    assert any(directory in instruction.arguments for instruction in final if instruction.keyword == "RUN")


@pytest.mark.slow
async def test_one_scrape_counts_the_requests_of_every_process(tmp_path: Path) -> None:
    command = image_command()
    assert int(command[command.index("--workers") + 1]) == 2
    port = closed_port()
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"
    multiproc_dir = tmp_path / "metrics"
    multiproc_dir.mkdir()
    environment = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO_ROOT),
        "APP_ENV": "test",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis_url_for_tests(),
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
    }
    process = await asyncio.create_subprocess_exec(
        str(VENV_BIN / command[0]),
        *command[1:],
        cwd=REPO_ROOT,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # A new connection per request, several at a time, so both processes accept some.
        async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            await wait_until_serving(client, process)
            before = requests_counted((await client.get("/metrics")).text, "/health/live")
            sent = 0
            for _ in range(MAX_BATCHES):
                responses = await asyncio.gather(*(client.get("/health/live") for _ in range(BATCH)))
                assert all(response.status_code == 200 for response in responses)
                sent += BATCH
                if len(metric_writers(multiproc_dir)) >= 2:
                    break
            scrape = (await client.get("/metrics")).text
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
    assert requests_counted(scrape, "/health/live") - before == sent
    writers = metric_writers(multiproc_dir)
    assert len(writers) >= 2, f"one process served all {sent} requests: {sorted(writers)}"


def metric_writers(multiproc_dir: Path) -> set[str]:
    """The processes that wrote metrics: prometheus_client names each file after its writer's pid."""
    return {match[1] for path in multiproc_dir.iterdir() if (match := re.search(r"_(\d+)\.db$", path.name))}


async def wait_until_serving(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(READY_TIMEOUT_SECONDS):
        while True:
            assert process.returncode is None, "uvicorn exited before serving"
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
