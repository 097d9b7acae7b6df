"""Outgoing e-mail over SMTP with an async client, and templates rendered from files."""

from __future__ import annotations

from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
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


# UTF-8 bodies, quoted-printable: ASCII text stays readable on the wire, and any line stays
# under SMTP's length limit whatever the template holds.
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


class Mailer(Protocol):
    async def send(self, message: Message) -> None: ...


class SmtpMailer:
    """One SMTP conversation per message: mail is rare, and a pooled connection would time out idle."""

    def __init__(self, settings: SmtpSettings, tracer: trace.Tracer | None = None) -> None:
        self._settings = settings
        self._tracer = tracer or trace.NoOpTracer()

    async def send(self, message: Message) -> None:
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


def render(template: str, *, to: str, subject: str, **values: str) -> Message:
    """A text e-mail with an HTML alternative, from `<template>.txt` and `<template>.html`.

    Built with the `email.mime` classes rather than `EmailMessage`: the same MIME structure
    (multipart/alternative, a text/plain and a text/html part, UTF-8), in about a tenth of
    the time (docs/performance.md, "Jobs, third pass"). `EmailMessage` parses every header
    it is given through the header registry and picks each body's encoding by scanning it;
    mail is the worker's most frequent job, and that was a fifth of its time per job.
    """
    message = MIMEMultipart("alternative")
    message["To"] = to
    # A str header is written as it is given; one that is not ASCII must be an encoded word.
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    # typeshed says str; the stdlib takes a Charset too, and only a Charset can say quoted-printable.
    text = _TEMPLATES[f"{template}.txt"].substitute(values)
    message.attach(MIMEText(text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    html_values = {key: _escape_html(value) for key, value in values.items()}
    html = _TEMPLATES[f"{template}.html"].substitute(html_values)
    message.attach(MIMEText(html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return message


def _escape_html(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
