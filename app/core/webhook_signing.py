"""Standard Webhooks signatures (https://www.standardwebhooks.com): what a receiver verifies.

signed content = f"{webhook-id}.{webhook-timestamp}.{body}"
signature      = base64(HMAC-SHA256(key=base64decode(secret without "whsec_"), signed content))
header         = "webhook-signature: v1,<signature>"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - the standard prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver runs; kept here so tests (and adopters) check signatures the standard way."""
    expected = sign(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split(" "))
