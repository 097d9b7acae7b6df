"""The redaction's shortcut: a line without any fragment a secret pattern needs is returned as is.

`redact_text` first looks for the fragments every pattern requires (`eyJ`, `://`, `password`, ...)
and runs the seven patterns only when one is there. These tests hold it to the slow path: whatever
the text, the answer is the same as running every pattern.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.log_redaction import _redact_every_pattern, redact_text

# Pieces of every pattern, mixed with ordinary text, so generated lines come near each one.
FRAGMENTS = [
    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
    "whsec_abcDEF123",
    "postgresql://app:hunter2@db/service",
    "[parameters: ('a@example.com', 'x')]",
    "Key (email)=(a@example.com) already exists",
    "PASSWORD=hunter2",
    "Api_Key: abc",
    "client_secret='s3'",
    "Token=",
    " ",
    "/v1/users/me",
    "GET",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=8).map("".join))
def test_the_shortcut_answers_as_every_pattern_would(text: str) -> None:
    assert redact_text(text) == _redact_every_pattern(text)


def test_a_line_without_a_fragment_is_returned_as_is() -> None:
    line = "request finished GET /v1/posts?limit=20 200 127.0.0.1"
    assert redact_text(line) is line
