"""A traced app and worker: the real instrumentation, exporting to memory instead of a collector."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.core import tracing
from app.core.config import Settings
from app.main import create_app
from app.resources import Resources
from tests.conftest import BASE_URL


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="session")
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    # Built like production's, with a synchronous processor so spans are there when a test looks.
    return tracing.build_provider("service-test", SimpleSpanProcessor(span_exporter))


@pytest.fixture
def spans(span_exporter: InMemorySpanExporter) -> SpanLog:
    span_exporter.clear()
    return SpanLog(span_exporter)


class SpanLog:
    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> list[ReadableSpan]:
        return sorted(self._exporter.get_finished_spans(), key=lambda span: span.start_time or 0)

    def of_trace(self, trace_id: int) -> list[ReadableSpan]:
        return [span for span in self.all() if span.context is not None and span.context.trace_id == trace_id]

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]


@pytest.fixture(scope="session")
async def traced_app(settings: Settings, tracer_provider: TracerProvider) -> AsyncIterator[FastAPI]:
    application = create_app(settings, tracer_provider=tracer_provider)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def traced_resources(traced_app: FastAPI) -> Resources:
    resources: Resources = traced_app.state.resources
    return resources


@pytest.fixture
async def traced_client(traced_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=traced_app), base_url=BASE_URL) as client:
        yield client


# The worker's fixtures (a private SMTP server, settings pointing at it, an Arq pool), shared as they are.
from tests.worker.conftest import arq_pool, inbox, worker_settings  # noqa: E402, F401
