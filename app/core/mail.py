"""Outgoing e-mail over SMTP with an async client, and templates rendered from files."""

from __future__ import annotations

from email.message import EmailMessage
from importlib.resources import files
from string import Template
from typing import Protocol

import aiosmtplib
from opentelemetry import trace

from app.core import tracing
from app.core.config import SmtpSettings

# Read once, at import: a job must not touch the disk on the event loop (ASY-2).
_TEMPLATES: dict[str, Template] = {
    entry.name: Template(entry.read_text("utf-8"))
    for entry in (files("app") / "templates" / "email").iterdir()
    if entry.name.endswith((".txt", ".html"))
}


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """One SMTP conversation per message: mail is rare, and a pooled connection would time out idle."""

    def __init__(self, settings: SmtpSettings, tracer: trace.Tracer | None = None) -> None:
        self._settings = settings
        self._tracer = tracer or trace.NoOpTracer()

    async def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self._settings.from_
        # No maintained OpenTelemetry instrumentation exists for aiosmtplib: one span by hand,
        # naming the server only. Recipients and the body stay out of the trace.
        with (
            self._tracer.start_as_current_span(
                "smtp send",
                kind=trace.SpanKind.CLIENT,
                attributes={"server.address": self._settings.host, "server.port": self._settings.port},
                record_exception=False,
                set_status_on_exception=False,
            ),
            tracing.failures_by_type(),
        ):
            await aiosmtplib.send(
                message,
                hostname=self._settings.host,
                port=self._settings.port,
                timeout=self._settings.timeout_seconds,
            )


def render(template: str, *, to: str, subject: str, **values: str) -> EmailMessage:
    """A text e-mail with an HTML alternative, from `<template>.txt` and `<template>.html`."""
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message.set_content(_TEMPLATES[f"{template}.txt"].substitute(values))
    html_values = {key: _escape_html(value) for key, value in values.items()}
    message.add_alternative(_TEMPLATES[f"{template}.html"].substitute(html_values), subtype="html")
    return message


def _escape_html(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
