"""A server span for every request, from the maintained FastAPI instrumentation."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span

from app.core import tracing

# Probes and scrapes arrive every few seconds from every replica: traces of them are noise.
UNTRACED_URLS = "/health/live,/health/ready,/metrics"


def trace_requests(app: FastAPI, provider: TracerProvider) -> None:
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=UNTRACED_URLS,
        # One span per request, not one more per ASGI message sent or received.
        exclude_spans=["receive", "send"],
        server_request_hook=_redact,
    )


def _redact(span: Span, scope: dict[str, Any]) -> None:  # noqa: ARG001 - the hook's signature
    tracing.redact_url_queries(span)
