"""`mail.render`: what a mail client shows of the message, after the trip through SMTP's bytes."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from aiosmtplib.email import flatten_message

from app.core.mail import render


def received(**values: str) -> EmailMessage:
    """The rendered welcome e-mail as aiosmtplib writes it and a modern parser reads it."""
    message = render("welcome", to="ana@example.com", subject=values.pop("subject", "Welcome!"), **values)
    parsed = email.message_from_bytes(flatten_message(message), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


def test_a_text_part_and_an_html_alternative_in_utf_8() -> None:
    message = received(name="Ana", email="ana@example.com", verify_url="https://example.com/verify-email?token=a=b")
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert {part.get_content_charset() for part in message.iter_parts()} == {"utf-8"}
    assert (message["To"], message["Subject"]) == ("ana@example.com", "Welcome!")
    plain, html = bodies(message)
    # `=` is quoted-printable's escape: the link must come back whole.
    assert "https://example.com/verify-email?token=a=b" in plain
    assert 'href="https://example.com/verify-email?token=a=b"' in html


def test_a_name_that_is_not_ascii_comes_back_the_same() -> None:
    message = received(
        name="Zoë Ñúñez 山田", email="ana@example.com", verify_url="https://example.com/v", subject="Bienvenue, Zoë"
    )
    plain, html = bodies(message)
    assert "Zoë Ñúñez 山田" in plain
    assert "Zoë Ñúñez 山田" in html
    assert message["Subject"] == "Bienvenue, Zoë"


def test_html_is_escaped_in_the_html_part_only() -> None:
    plain, html = bodies(received(name='<b>Tom & "Jerry"</b>', email="ana@example.com", verify_url="https://e.com/v"))
    assert '<b>Tom & "Jerry"</b>' in plain
    assert "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;" in html
    assert "<b>Tom" not in html


def test_long_lines_stay_under_smtps_limit() -> None:
    raw = flatten_message(
        render("welcome", to="a@example.com", subject="Hi", name="x" * 2000, email="e", verify_url="u")
    )
    assert max(len(line) for line in raw.splitlines()) <= 998
