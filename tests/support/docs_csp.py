"""The app behind the Content-Security-Policy its docs pages need, for the browser test.

    uvicorn tests.support.docs_csp:app

Each page gets the strictest policy it works under, with its assets served by the app: the
browser test runs the pages under them and fails on any violation (with `'unsafe-inline'`
styles or the blob worker taken away, ReDoc fails it; Swagger UI needs neither). The
policies are quoted in docs/operations.md for whoever sets the header in production.
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


COMMON = [
    "default-src 'none'",
    # The OpenAPI document, the token request, "Try it out".
    "connect-src 'self'",
    # The favicon, and the data: SVG icons in the stylesheets.
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
]


def swagger_ui_policy(title: str) -> str:
    start_up = " ".join(inline_script_sources(bytes(swagger_ui_page(title, "", OPENAPI_URL).body).decode()))
    # The bundle from /docs/assets, and the page's inline start-up script by its hash.
    return "; ".join([*COMMON, f"script-src 'self' {start_up}", "style-src 'self'"])


def redoc_policy() -> str:
    return "; ".join(
        [
            *COMMON,
            "script-src 'self'",
            # ReDoc styles its components at run time (styled-components): inline <style> elements.
            "style-src 'self' 'unsafe-inline'",
            # Its search index runs in a worker made from a blob.
            "worker-src blob:",
        ]
    )


class DocsPolicy:
    """Pure ASGI: sends each docs page with its policy, everything else untouched."""

    def __init__(self, app: ASGIApp, policies: dict[str, str]) -> None:
        self.app = app
        self.policies = {path: policy.encode() for path, policy in policies.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = self.policies.get(scope["path"]) if scope["type"] == "http" else None
        if policy is None:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", policy)]
            await send(message)

        await self.app(scope, receive, send_with_policy)


_service = create_app()
POLICIES = {DOCS_URL: swagger_ui_policy(_service.title), REDOC_URL: redoc_policy()}
app = DocsPolicy(_service, POLICIES)
