"""Response headers that tell browsers to treat every answer as data, never as a page to render or embed.

The API serves JSON, so the default Content-Security-Policy allows nothing at all.
Only the interactive docs pages are HTML that runs scripts; each gets the policy
`app/api/docs.py` computes for it, allowing its own assets and inline scripts only.
HSTS is sent only when a setting says a proxy in front terminates TLS: over plain
HTTP it means nothing, and sent by mistake it locks browsers out of a host.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Two years, the preload list's minimum.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, page_policies: Mapping[str, str], strict_transport_security: bool) -> None:
        self.app = app
        self.page_policies = dict(page_policies)
        fixed = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
        if strict_transport_security:
            fixed["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
        self.fixed = tuple(fixed.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        policy = self.page_policies.get(scope["path"], API_CONTENT_SECURITY_POLICY)

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
