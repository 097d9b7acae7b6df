"""Idempotency keys: a request retried with the same key gets the first response back, and its effect
happens once (draft-ietf-httpapi-idempotency-key-header; docs/decisions/0041-idempotency-keys.md).

The caller runs, inside the request's transaction:

1. `claim`: takes the key's lock (or raises `IdempotencyKeyInFlight` when another request holds
   it), then returns the stored response for a repeat (`IdempotencyKeyReused` when the repeat is a
   different request) or a `Claim` for a first request;
2. the effect;
3. `remember`: stores the response with the claim.

The transaction commits the effect and the stored response together, or neither. The lock is held
until then, so a concurrent repeat sees either "in flight" or the committed response, never a gap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import IdempotencyKeyInFlight, IdempotencyKeyReused
from app.models.idempotency_key import IdempotencyKey
from app.repositories import idempotency_keys as idempotency_keys_repository

# Requests take milliseconds; a second is long enough for the first one to finish.
IN_FLIGHT_RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    """A first request with this key: its response is to be remembered."""

    scope: str
    key: str
    fingerprint: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON.

    Canonical: keys sorted, no insignificant whitespace, non-ASCII escaped, so the same JSON sent
    with its keys in another order or spaced differently is the same request. A body that is not
    JSON is hashed as sent (the request fails validation anyway).
    """
    try:
        content = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    except (ValueError, RecursionError):
        content = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), content):
        # Length-prefixed, so no two different (method, path, body) can run together into one input.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def claim(
    session: AsyncSession, *, scope: str, key: str, fingerprint: str, now: datetime
) -> Claim | StoredResponse:
    if not await idempotency_keys_repository.try_lock(session, scope, key):
        raise IdempotencyKeyInFlight(retry_after_seconds=IN_FLIGHT_RETRY_AFTER_SECONDS)
    stored = await idempotency_keys_repository.get(session, scope, key)
    if stored is not None and stored.expires_at <= now:
        # Expired but not yet swept by the upkeep cron: the key is free again.
        await idempotency_keys_repository.delete_one(session, stored)
        stored = None
    if stored is None:
        return Claim(scope=scope, key=key, fingerprint=fingerprint)
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused
    return StoredResponse(
        status_code=stored.status_code, headers=dict(stored.response_headers), body=stored.response_body
    )


async def remember(
    session: AsyncSession, claim: Claim, response: StoredResponse, *, now: datetime, ttl: timedelta
) -> None:
    row = IdempotencyKey(
        scope=claim.scope,
        key=claim.key,
        fingerprint=claim.fingerprint,
        status_code=response.status_code,
        response_headers=response.headers,
        response_body=response.body,
        expires_at=now + ttl,
    )
    await idempotency_keys_repository.add(session, row)
