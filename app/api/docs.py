"""The interactive docs, `/docs` (Swagger UI) and `/redoc` (ReDoc), with every asset served by the app.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: offline, or behind a Content
Security Policy that allows only this origin, they are blank. `fastapi-offline` ships the
same assets (Swagger UI 5, ReDoc 2) in its wheel; the pages are FastAPI's, pointed at them.
Only the assets are taken from it: its app factory would replace `create_app`'s.

Each page is sent with the strictest Content-Security-Policy it works under
(`content_security_policies`, applied by the security-headers middleware): a headless
Chromium test runs both pages under them and fails on any violation (tests/browser).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
SWAGGER_UI_PARAMETERS = {
    # Keep the token filled in across page reloads.
    "persistAuthorization": True,
    # No badge from validator.swagger.io: the page talks to this origin only.
    "validatorUrl": None,
}
# An installed package's files are on disk; StaticFiles serves from a directory.
ASSETS = Path(str(files("fastapi_offline").joinpath("static")))


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Serve `/docs`, its OAuth2 redirect, `/redoc`, and their assets under `/docs/assets`."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return swagger_ui_page(app.title, request.scope.get("root_path", ""), openapi_url)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


def swagger_ui_page(title: str, root_path: str, openapi_url: str) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=f"{root_path}{openapi_url}",
        title=f"{title} - Swagger UI",
        oauth2_redirect_url=f"{root_path}{OAUTH2_REDIRECT_URL}",
        swagger_js_url=f"{root_path}{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{root_path}{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{root_path}{ASSETS_URL}/favicon.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_COMMON_POLICY = (
    "default-src 'none'",
    # The OpenAPI document, the token request, "Try it out".
    "connect-src 'self'",
    # The favicon, and the data: SVG icons in the stylesheets.
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)


def inline_script_sources(page: HTMLResponse) -> list[str]:
    """`'sha256-...'` for each inline `<script>` of a page: what a policy allows it by."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]


def content_security_policies(title: str, openapi_url: str) -> dict[str, str]:
    """Each docs page's policy. Inline scripts are allowed by hash: FastAPI writes the URLs and
    the UI parameters into them, so a change to any of those, or to FastAPI's page, changes the hash
    here too. Behind a `root_path` the hash differs: serve the docs at the root, or recompute."""
    swagger_start_up = " ".join(inline_script_sources(swagger_ui_page(title, "", openapi_url)))
    redirect = " ".join(inline_script_sources(get_swagger_ui_oauth2_redirect_html()))
    return {
        # The bundle from /docs/assets, and the page's inline start-up script by its hash.
        DOCS_URL: "; ".join([*_COMMON_POLICY, f"script-src 'self' {swagger_start_up}", "style-src 'self'"]),
        OAUTH2_REDIRECT_URL: "; ".join([*_COMMON_POLICY, f"script-src {redirect}"]),
        REDOC_URL: "; ".join(
            [
                *_COMMON_POLICY,
                "script-src 'self'",
                # ReDoc styles its components at run time (styled-components): inline <style> elements.
                "style-src 'self' 'unsafe-inline'",
                # Its search index runs in a worker made from a blob.
                "worker-src blob:",
            ]
        ),
    }
