"""Limit the size of request bodies.

A declared `Content-Length` over the limit is answered at once, before the app
runs, so the 413 is Problem Details even on routes that never read their body.
A body without a declared length (chunked) is counted as the app reads it; the
first byte over the limit raises the 413, which the Problem Details handler
renders like any other HTTP error.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import error_response
from app.core.errors import PayloadTooLarge


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        detail = f"The request body may not exceed {self.max_body_bytes} bytes."
        if self._declared_length(scope) > self.max_body_bytes:
            await error_response(Request(scope), PayloadTooLarge(detail))(scope, receive, send)
            return

        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise HTTPException(status_code=PayloadTooLarge.status_code, detail=detail)
            return message

        await self.app(scope, receive_within_limit, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        value = Headers(scope=scope).get("content-length", "")
        return int(value) if value.isdigit() else 0
