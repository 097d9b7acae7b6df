"""Traces with OpenTelemetry, configured only by the standard `OTEL_*` variables (SPEC §6).

With no exporter named (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
or `OTEL_TRACES_EXPORTER`), or with `OTEL_SDK_DISABLED=true`, nothing is installed: no SDK
provider, no instrumentation, and the calls below go to the API's no-op tracer that FastAPI
already depends on. Everything else (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_*`) is read by the SDK itself.

Instrumentation is applied to the objects we own (one engine, one Redis client, one HTTP
client per process), not by patching libraries globally: Arq's own Redis connection polls
the queue twenty times a second and would fill every trace with `BRPOP`s. A collector that
is down or slow never reaches a request: spans are exported by the batch processor's thread
from a bounded queue, with a short timeout, and dropped past that (decision 0071).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from urllib.parse import urlsplit, urlunsplit

import httpx
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Status, StatusCode
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

INSTRUMENTATION_NAME = "app"
TRACEPARENT = "traceparent"
# Names an exporter: without one of these there is nowhere to send spans, so nothing is installed.
_EXPORTER_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER")
_TIMEOUT_VARIABLES = ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
# The SDK's default is 10 s (with retries inside it): shorter, so a black-holed collector costs
# the export thread 2 s per batch and the bounded queue drops the rest. Set a variable to override.
DEFAULT_EXPORT_TIMEOUT_SECONDS = 2.0
# Attributes that hold a URL or its query: a query string can carry a token (`?token=...`), and a
# webhook URL registered by a user often does. Spans keep the path and drop the query.
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
_QUERY_ATTRIBUTES = ("url.query",)
_EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def enabled(environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _EXPORTER_VARIABLES)


def configure_from_environment(default_service_name: str) -> TracerProvider | None:
    """The process's provider, built once from `OTEL_*` and installed globally; None when tracing is off."""
    if not enabled():
        return None
    return _install(default_service_name)


@cache
def _install(default_service_name: str) -> TracerProvider:
    provider = build_provider(default_service_name, batch_processor(os.environ))
    trace.set_tracer_provider(provider)
    return provider


def build_provider(
    default_service_name: str, processor: SpanProcessor, *, environ: Mapping[str, str] = os.environ
) -> TracerProvider:
    """An SDK provider whose sampler comes from `OTEL_TRACES_SAMPLER`; URL queries are redacted first."""
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    provider = TracerProvider(resource=Resource.create({} if named else {SERVICE_NAME: default_service_name}))
    provider.add_span_processor(RedactUrlQueries())
    provider.add_span_processor(processor)
    return provider


def batch_processor(environ: Mapping[str, str]) -> BatchSpanProcessor:
    """A bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048) emptied by its own thread: a request only appends."""
    return BatchSpanProcessor(_exporter_from(environ))


def _exporter_from(environ: Mapping[str, str]) -> SpanExporter:
    kind = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if kind == "console":
        return ConsoleSpanExporter()
    if kind != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={kind!r} is not supported here: use otlp, console or none")
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol not in (None, "", "http/protobuf"):
        raise ValueError(f"OTLP protocol {protocol!r} is not supported here: use http/protobuf (port 4318)")
    # Imported here: the exporter pulls in protobuf, which a process with tracing off never needs.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    logging.getLogger(_EXPORTER_LOGGER).addFilter(_FirstWarningOnly())
    timeout = None if any(name in environ for name in _TIMEOUT_VARIABLES) else DEFAULT_EXPORT_TIMEOUT_SECONDS
    return OTLPSpanExporter(timeout=timeout)


class _FirstWarningOnly(logging.Filter):
    """A collector that is down fails every batch: say so once, not every five seconds, per process."""

    def __init__(self) -> None:
        super().__init__()
        self._warned = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if self._warned:
            return False
        self._warned = True
        record.msg = f"{record.msg} (spans are dropped while the collector is unreachable; said once)"
        return True


class RedactUrlQueries(SpanProcessor):
    """Drop query strings from URL attributes as each span starts, before any exporter can see them."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:  # noqa: ARG002
        redact_url_queries(span)

    def on_end(self, span: ReadableSpan) -> None:  # noqa: ARG002
        return None


def redact_url_queries(span: trace.Span) -> None:
    """Also called by the server span's request hook: the ASGI middleware sets its attributes again after start."""
    attributes = span.attributes if isinstance(span, ReadableSpan) else None
    for key in _URL_ATTRIBUTES:
        value = (attributes or {}).get(key)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(key, _without_query(value))
    for key in _QUERY_ATTRIBUTES:
        if (attributes or {}).get(key):
            span.set_attribute(key, "[redacted]")


def _without_query(url: str) -> str:
    if url.startswith("/"):
        return url.partition("?")[0]
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def tracer(provider: TracerProvider | None) -> trace.Tracer:
    """Our own spans (relay, job, SMTP): the no-op tracer when tracing is off."""
    return trace.NoOpTracer() if provider is None else provider.get_tracer(INSTRUMENTATION_NAME)


def instrument_clients(provider: TracerProvider, *, engine: AsyncEngine, redis: Redis, http: httpx.AsyncClient) -> None:
    """Spans for every SQL statement (text only, never its parameters), Redis command and outbound call."""
    # What SQLAlchemyInstrumentor().instrument(engine=...) builds, without its process-wide
    # patching of create_engine, and callable once per engine (tests build several).
    EngineTracer(  # type: ignore[no-untyped-call]
        provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"), engine.sync_engine, _NO_METRICS
    )
    # Redis spans carry the command name with `?` for every argument.
    RedisInstrumentor.instrument_client(redis, tracer_provider=provider)
    # Also injects `traceparent` into every outgoing request (webhook deliveries).
    HTTPXClientInstrumentor.instrument_client(http, tracer_provider=provider)


_NO_METRICS = NoOpMeter(INSTRUMENTATION_NAME).create_up_down_counter("db.client.connections.usage")


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the active span, to store beside deferred work; None when none is active."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_from(traceparent: str | None) -> Context | None:
    """The context a stored `traceparent` continues; None (a new root) when there is none."""
    if not traceparent:
        return None
    return propagate.extract({TRACEPARENT: traceparent})


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@contextmanager
def failures_by_type() -> Iterator[None]:
    """Mark the current span failed with the exception's type alone.

    For spans started with `record_exception=False, set_status_on_exception=False`: an
    exception's message and traceback can carry an address or a payload (an SMTP refusal
    names its recipients), and the SDK would copy both into the span.
    """
    try:
        yield
    except BaseException as exc:
        mark_failed(exc)
        raise


def mark_failed(exc: BaseException) -> None:
    """Mark the current span failed by the exception's type alone, for a failure that is handled, not raised."""
    trace.get_current_span().set_status(Status(StatusCode.ERROR, type(exc).__name__))


def untraced() -> AbstractContextManager[None]:
    """Polling loops (the relay's idle SELECTs) would make a root trace every 200 ms: no spans inside."""
    return suppress_instrumentation()
