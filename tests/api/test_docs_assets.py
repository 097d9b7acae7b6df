"""`/docs` and `/redoc` load nothing from outside the app: every asset they name is served here (API-6)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from app.core.config import Environment
from tests.api.test_app import _app_for

PAGES = ("/docs", "/redoc")


class References(HTMLParser):
    """Every URL an HTML page makes the browser fetch, or runs as a script's configuration."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in {"src", "href", "spec-url"} and value]

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("page", PAGES)
async def test_a_docs_page_names_only_urls_of_this_app(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    found = references(response.text)
    assert found.urls, "the page loads its assets from somewhere"
    assert all(url.startswith("/") and not url.startswith("//") for url in found.urls), found.urls
    # The inline start-up script points Swagger UI at this app only: no validator badge, no CDN.
    for script in found.scripts:
        assert not re.search(r"https?://", script), script
    assert "validatorUrl" not in response.text or '"validatorUrl": null' in response.text


@pytest.mark.parametrize("page", PAGES)
async def test_every_asset_a_docs_page_names_is_served(client: httpx.AsyncClient, page: str) -> None:
    found = references((await client.get(page)).text)
    for url in found.urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0, url
    scripts = [url for url in found.urls if url.endswith(".js")]
    assert scripts, "the page's script is served by the app"
    for url in scripts:
        assert (await client.get(url)).headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test_the_oauth2_redirect_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "oauth2" in response.text


async def test_production_serves_no_docs_assets() -> None:
    app = _app_for(Environment.PRODUCTION)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        for path in ("/docs/assets/swagger-ui-bundle.js", "/docs/oauth2-redirect", "/redoc"):
            assert (await client.get(path)).status_code == 404, path
