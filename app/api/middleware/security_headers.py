"""Response headers that tell browsers to treat every answer as data, never as a page to render or embed.

The API serves JSON, so the default Content-Security-Policy allows nothing at all.
Only the interactive docs pages are HTML that runs scripts; they get
`DOCS_CONTENT_SECURITY_POLICY`, the one place to change when the docs assets move.
HSTS is sent only when a setting says a proxy in front terminates TLS: over plain
HTTP it means nothing, and sent by mistake it locks browsers out of a host.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc as FastAPI serves them: scripts and styles from jsDelivr, one inline
# bootstrap script each, ReDoc's fonts from Google and its web worker from a blob: URL,
# the OpenAPI document (and "Try it out") from this origin.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)
# Two years, the preload list's minimum.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, docs_paths: Collection[str], strict_transport_security: bool) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)
        fixed = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        if strict_transport_security:
            fixed["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
        self.fixed = tuple(fixed.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        policy = DOCS_CONTENT_SECURITY_POLICY if scope["path"] in self.docs_paths else API_CONTENT_SECURITY_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.fixed:
                    headers[name] = value
                headers.setdefault("Content-Security-Policy", policy)
                # Naming the server software helps only an attacker; the app never sends one.
                del headers["Server"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
