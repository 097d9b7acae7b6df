"""The interactive docs, `/docs` (Swagger UI) and `/redoc` (ReDoc), with every asset served by the app.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: offline, or behind a Content
Security Policy that allows only this origin, they are blank. `fastapi-offline` ships the
same assets (Swagger UI 5, ReDoc 2) in its wheel; the pages are FastAPI's, pointed at them.
Only the assets are taken from it: its app factory would replace `create_app`'s.

The Content-Security-Policy these pages need is in docs/operations.md.
"""

from __future__ import annotations

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
