"""Two message-body rules of RFC 9110 that FastAPI leaves to the server, kept by the app itself.

- HEAD (§9.3.2) is answered on every GET route, as GET without content. FastAPI
  routes answer only the methods they declare, so HEAD would otherwise be a 405.
  The request is routed as GET; the access log still shows HEAD.
- 204 and 304 carry no content (§15.3.5, §15.4.5): FastAPI's default JSON
  response class would give a 204 `content-type: application/json`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_CONTENT_STATUSES = frozenset({204, 304})


class HttpSemanticsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        is_head = scope["method"] == "HEAD"
        without_content = is_head

        async def send_by_the_rules(message: Message) -> None:
            nonlocal without_content
            if message["type"] == "http.response.start" and message["status"] in NO_CONTENT_STATUSES:
                without_content = True
                headers = MutableHeaders(scope=message)
                del headers["Content-Type"]
                if message["status"] == 204:
                    del headers["Content-Length"]
            elif message["type"] == "http.response.body" and without_content and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        if is_head:
            # Routed as GET inside; set back so the middleware outside (the access log) sees HEAD.
            scope["method"] = "GET"
        try:
            await self.app(scope, receive, send_by_the_rules)
        finally:
            if is_head:
                scope["method"] = "HEAD"
