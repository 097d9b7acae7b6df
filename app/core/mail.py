"""Outgoing e-mail over SMTP with an async client, and templates rendered from files."""

from __future__ import annotations

from email.message import EmailMessage
from importlib.resources import files
from string import Template
from typing import Protocol

import aiosmtplib

from app.core.config import SmtpSettings

_TEMPLATES = files("app") / "templates" / "email"


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """One SMTP conversation per message: mail is rare, and a pooled connection would time out idle."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self._settings.from_
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
    message.set_content(Template((_TEMPLATES / f"{template}.txt").read_text("utf-8")).substitute(values))
    html_values = {key: _escape_html(value) for key, value in values.items()}
    message.add_alternative(
        Template((_TEMPLATES / f"{template}.html").read_text("utf-8")).substitute(html_values), subtype="html"
    )
    return message


def _escape_html(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
