"""The app behind the Content-Security-Policy its docs pages need, for the browser test.

    uvicorn tests.support.docs_csp:app

The policy is the strictest one under which `/docs` (Swagger UI) and `/redoc` (ReDoc) work
with their assets served by the app: the browser test runs the pages under it and fails on
any violation. docs/operations.md quotes it for whoever sets the header in production.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.docs import DOCS_URL, REDOC_URL, swagger_ui_page
from app.main import OPENAPI_URL, create_app

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def inline_script_sources(html: str) -> list[str]:
    """`'sha256-...'` for each inline `<script>` of a page: what CSP allows it by."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    ]


def docs_content_security_policy(title: str) -> str:
    swagger_start_up = " ".join(inline_script_sources(bytes(swagger_ui_page(title, "", OPENAPI_URL).body).decode()))
    return "; ".join(
        [
            "default-src 'none'",
            # The bundles from /docs/assets, and Swagger UI's inline start-up script by its hash.
            f"script-src 'self' {swagger_start_up}",
            # Both UIs set style attributes and inject <style> elements at run time.
            "style-src 'self' 'unsafe-inline'",
            # Icons are data: SVGs in the stylesheets.
            "img-src 'self' data:",
            # The OpenAPI document, the token request, "Try it out".
            "connect-src 'self'",
            # ReDoc's search index runs in a worker made from a blob.
            "worker-src blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


class DocsPolicy:
    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in {DOCS_URL, REDOC_URL}:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", self.policy)]
            await send(message)

        await self.app(scope, receive, send_with_policy)


_service = create_app()
POLICY = docs_content_security_policy(_service.title)
app = DocsPolicy(_service, POLICY)
