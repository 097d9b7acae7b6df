"""A collector that is down or never answers costs requests nothing (SPEC §6).

The same requests run against the untraced app and against apps whose exporter points at
a closed port and at a port that accepts connections and never answers. Timings on a
shared machine are noisy, so the comparison is generous: a blocked export path would
add seconds per batch, far beyond it.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from app.core import tracing
from app.core.config import Rate, Settings
from app.main import create_app
from tests.conftest import BASE_URL
from tests.support.outages import closed_port

REQUESTS = 150
# Before each measured run: the first requests on an app pay once (compiled statements, prepared statements
# per connection, route caches), and on the traced app they fill the export queue and meet the first failed
# exports. Thirty do all of that: ~90 spans (three per read: the request, its SELECT, the rate limit's Redis
# pipeline), more than the queue's 64, over many 50 ms export attempts. Both apps get the same warm-up,
# and the measured runs are still REQUESTS each (they were 150 warm-up reads as well: only time).
WARM_UP_REQUESTS = 30
# The export thread tries every 50 ms from a queue of 64, so exports fail (and spans are dropped) during the run.
BATCH_ENVIRONMENT = {
    "OTEL_BSP_SCHEDULE_DELAY": "50",
    "OTEL_BSP_MAX_QUEUE_SIZE": "64",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "16",
}


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A listener that accepts (the kernel completes the handshake) and never reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def provider_exporting_to(port: int, monkeypatch: pytest.MonkeyPatch) -> TracerProvider:
    for name, value in BATCH_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{port}/v1/traces")
    environ = dict(os.environ)
    return tracing.build_provider("service-test", tracing.batch_processor(environ), environ=environ)


async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


async def timed_reads(client: httpx.AsyncClient, requests: int = REQUESTS) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        response = await client.get("/v1/posts", params={"limit": 10})
        assert response.status_code == 200
    return time.perf_counter() - started


@pytest.mark.slow
@pytest.mark.parametrize("collector", ["closed port", "black hole"])
async def test_hot_reads_keep_their_latency_when_the_collector_is_unreachable(
    collector: str,
    black_hole: int,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Hundreds of anonymous reads from one address: the per-address limit is not what is measured here.
    unlimited = Rate.model_validate("1000000/second")
    settings = settings.model_copy(
        update={"rate_limit": settings.rate_limit.model_copy(update={"anonymous_read": unlimited})}
    )
    # Built before any OTEL_* variable is set: this one must stay untraced.
    untraced_app = create_app(settings)
    port = closed_port() if collector == "closed port" else black_hole
    provider = provider_exporting_to(port, monkeypatch)
    async for untraced in serve(untraced_app):
        await timed_reads(untraced, WARM_UP_REQUESTS)  # warm both paths the same way
        baseline = await timed_reads(untraced)
    traced_app = create_app(settings, tracer_provider=provider)  # before caplog: it reconfigures logging
    try:
        with caplog.at_level(logging.WARNING, logger="opentelemetry"):
            async for traced in serve(traced_app):
                await timed_reads(traced, WARM_UP_REQUESTS)
                degraded = await timed_reads(traced)
    finally:
        # Shut down off the event loop: the export thread may be inside its 2 s timeout.
        provider.shutdown()

    assert degraded < baseline * 3 + 1.0, f"untraced {baseline:.2f}s, collector {collector}: {degraded:.2f}s"
    # At most one warning per process, however many batches fail.
    export_warnings = [record for record in caplog.records if record.name.startswith("opentelemetry.exporter")]
    assert len(export_warnings) <= 1, [record.getMessage() for record in export_warnings]
    if collector == "closed port" and export_warnings:
        assert "said once" in export_warnings[0].getMessage()
