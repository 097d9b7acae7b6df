"""Reading the per-request context that the request-id middleware stores in the ASGI scope."""

from __future__ import annotations

import re
import uuid

from starlette.requests import HTTPConnection

REQUEST_ID_HEADER = "X-Request-ID"
# Accepted from clients only when it cannot smuggle anything into logs or headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(candidate: str | None) -> str:
    if candidate is not None and _VALID_REQUEST_ID.fullmatch(candidate):
        return candidate
    return new_request_id()


def request_id_of(connection: HTTPConnection) -> str:
    request_id = connection.scope.get("state", {}).get("request_id")
    return request_id if isinstance(request_id, str) else new_request_id()
