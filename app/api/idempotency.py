"""`Idempotency-Key` on unsafe POSTs (draft-ietf-httpapi-idempotency-key-header), one line per route:

    @router.post(..., responses=problem_responses(401, 409, 422), dependencies=[Idempotent])

`Idempotent` scopes keys to the signed-in caller, `IdempotentAnonymous` to the client address (for
routes without a token, such as sign-up). With the header:

- the first request runs, and its response (status, body, Content-Type, Location, ETag) is stored
  in the same transaction as its effect;
- a repeat with the same body gets that response back, marked `Idempotent-Replayed: true`; the
  handler does not run;
- a repeat with another body, method or path is 422 `idempotency_key_reused`;
- a repeat while the first is still running is 409 `idempotency_key_in_flight` with `Retry-After`;
- a first request that fails stores nothing: its effect rolled back, so a retry runs anew.

Without the header the route behaves as before. The route's router must use
`app.api.routing.Route` (the response is stored by a response hook). The storage and the
locking are in `app/services/idempotency.py`; the reasons in docs/decisions/0041-idempotency-keys.md.

No `from __future__ import annotations` here: FastAPI reads the dependency's signature at runtime,
and it refers to the `caller_scope` local of `idempotent`.
"""

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from fastapi.params import Depends as DependsParam

from app.api.deps import DbSession, SettingsDep
from app.api.rate_limits import client_address
from app.api.routing import RespondWith, on_response
from app.api.security import CurrentUser
from app.core.errors import IDEMPOTENCY_KEY_HEADER, FieldInvalid
from app.services import idempotency as idempotency_service

REPLAYED_HEADER = "Idempotent-Replayed"
# The headers that describe the result, replayed with it. Per-request ones (X-Request-ID, Date) are not.
STORED_HEADERS = ("content-type", "location", "etag")
MAX_KEY_LENGTH = 255

# The draft makes the value a Structured Fields String ("..."), and many clients send a bare
# token: both are accepted. Inside quotes, RFC 8941 allows printable ASCII with \" and \\ escaped;
# a bare key is visible ASCII without quotes.
_QUOTED = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_BARE = re.compile(r"[\x21\x23-\x7e]+")
_ESCAPE = re.compile(r"\\([\"\\])")

KeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        description="A unique value per operation, e.g. a UUID, 1 to 255 printable ASCII characters, bare or "
        "quoted. A retry with the same key and body gets the first response back instead of repeating the "
        "operation. Keys are remembered for 24 hours, per caller.",
    ),
]


def parse_key(value: str) -> str:
    """The key in an `Idempotency-Key` value; a 422 naming the header when it is not a valid one."""
    value = value.strip(" \t")
    quoted = _QUOTED.fullmatch(value)
    key = _ESCAPE.sub(r"\1", quoted[1]) if quoted else value if _BARE.fullmatch(value) else None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise FieldInvalid(
            IDEMPOTENCY_KEY_HEADER.lower(),
            f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, "
            'bare or as a quoted string ("...").',
            error_type="idempotency_key_invalid",
            location="header",
        )
    return key


def _replay(stored: idempotency_service.StoredResponse) -> Response:
    return Response(
        content=stored.body, status_code=stored.status_code, headers={**stored.headers, REPLAYED_HEADER: "true"}
    )


def _to_store(response: Response) -> idempotency_service.StoredResponse:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes | memoryview):
        raise TypeError(f"{type(response).__name__} has no body to store: streamed responses cannot be replayed")
    headers = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
    return idempotency_service.StoredResponse(status_code=response.status_code, headers=headers, body=bytes(body))


CallerScope = Callable[..., Awaitable[str]]


def idempotent(caller_scope: CallerScope) -> DependsParam:
    """The `Idempotency-Key` dependency for routes whose callers `caller_scope` names."""

    async def check_idempotency_key(
        request: Request,
        session: DbSession,
        settings: SettingsDep,
        scope: Annotated[str, Depends(caller_scope)],
        idempotency_key: KeyHeader = None,
    ) -> None:
        if idempotency_key is None:
            return
        now = datetime.now(UTC)
        outcome = await idempotency_service.claim(
            session,
            scope=scope,
            key=parse_key(idempotency_key),
            fingerprint=idempotency_service.fingerprint(request.method, request.url.path, await request.body()),
            now=now,
        )
        if isinstance(outcome, idempotency_service.StoredResponse):
            raise RespondWith(_replay(outcome))
        ttl = timedelta(seconds=settings.idempotency.ttl_seconds)

        async def remember(response: Response) -> None:
            await idempotency_service.remember(session, outcome, _to_store(response), now=now, ttl=ttl)

        on_response(request, remember)

    dependency: DependsParam = Depends(check_idempotency_key)
    return dependency


async def signed_in_caller(user: CurrentUser) -> str:
    return f"user:{user.id}"


async def anonymous_caller(request: Request) -> str:
    return f"address:{client_address(request)}"


Idempotent = idempotent(signed_in_caller)
IdempotentAnonymous = idempotent(anonymous_caller)
