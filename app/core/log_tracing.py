"""A structlog processor that puts the active span's `trace_id` and `span_id` on every log line.

With tracing off there is never an active span and the line is left as it was: one
context lookup per line is the whole cost.
"""

from __future__ import annotations

from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger


def add_trace_ids(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:  # noqa: ARG001
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict
