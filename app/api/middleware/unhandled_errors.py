"""Turn an exception no handler claimed into the generic 500 Problem Details.

Starlette would answer such an exception from its outermost middleware, outside
ours, so the 500 would miss the request id header, CORS headers and the access
log's status. Catching it here, innermost, lets the answer travel back through
every middleware like any other response. The app's `Exception` handler stays
registered for failures inside middleware itself.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import handle_unexpected_error


class UnhandledErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        response_started = False

        async def track_start(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, track_start)
        except Exception as exc:
            if response_started:
                raise  # too late for a clean answer; the server closes the connection
            response = await handle_unexpected_error(Request(scope), exc)
            await response(scope, receive, send)
