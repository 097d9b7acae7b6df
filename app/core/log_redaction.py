"""A structlog processor that keeps secrets out of every log line (docs/decisions/0013-secrets-never-logged.md).

The first defences are upstream: the engine never puts bind parameters into errors or
logs (`hide_parameters=True`), settings hold secrets as `SecretStr` and DSNs out of
their repr, and tracebacks are rendered without local variables. This processor is the
last one: it runs on every line, ours and the libraries', after the traceback has been
turned into text, and masks

- the value of any key that names a secret (`password`, `token`, `secret`, ...);
- text that looks like a secret wherever it appears: argon2 hashes, JWTs, webhook
  signing secrets, the password in a DSN, SQL bind parameters, and the key values
  PostgreSQL quotes back in a constraint violation's DETAIL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "[redacted]"

SECRET_KEYS = frozenset(
    {
        "password",
        "current_password",
        "new_password",
        "password_hash",
        "token",
        "access_token",
        "refresh_token",
        "token_hash",
        "secret",
        "client_secret",
        "jwt_secret",
        "authorization",
        "cookie",
        "set-cookie",
    }
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\$argon2(?:id|i|d)\$[\w+/=$,.-]+"), REDACTED),
    (re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), REDACTED),  # a JWT: base64url '{"' . payload . signature
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), REDACTED),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/?#\s@]*:)[^@\s/]+@", re.IGNORECASE), rf"\g<1>{REDACTED}@"),
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\n|\(Background|$))", re.DOTALL), f"[parameters: {REDACTED}]"),
    (re.compile(r"(Key \(.*?\)=\().*?(\) (?:already exists|is (?:not present|still referenced)))"), rf"\1{REDACTED}\2"),
    # `password=...`, `"secret": "..."` written into free text, e.g. an exception message.
    (
        re.compile(r"""(\b(?:\w+_)?(?:password|passwd|secret|token|api_key)["']?\s*[=:]\s*["']?)[^\s"',;&)]+""", re.I),
        rf"\1{REDACTED}",
    ),
)


# Every pattern above needs one of these fragments to match (the last one case-insensitively), so one
# scan for them clears the common line (a path, an address, an event name) without running all seven.
# tests/core/test_log_redaction.py checks that the shortcut never changes what redact_text returns.
_MIGHT_HOLD_A_SECRET = re.compile(
    r"\$argon2|eyJ|whsec_|://|\[parameters: |Key \(|password|passwd|secret|token|api_key", re.IGNORECASE
)


def redact_text(text: str) -> str:
    if _MIGHT_HOLD_A_SECRET.search(text) is None:
        return text
    return _redact_every_pattern(text)


def _redact_every_pattern(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: REDACTED if _is_secret_key(key) else _redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in SECRET_KEYS


def redact_secrets(_logger: object, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: place it after `format_exc_info`, so tracebacks are text by then."""
    for key, value in event_dict.items():
        event_dict[key] = REDACTED if _is_secret_key(key) else _redact(value)
    return event_dict
