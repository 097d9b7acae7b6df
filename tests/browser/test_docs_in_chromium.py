"""The interactive docs in a real browser, offline: the README's tour runs through them.

Headless Chromium (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them) drives
`/docs` on a real uvicorn serving the app on a loopback port, under the Content-Security-Policy
the docs pages need (`content_security_policies` in app/api/docs.py, sent by the app
itself). The browser can reach nothing but loopback:
a CDN asset would fail to load. The test signs up through the API, authorizes with the password
flow in Swagger UI's dialog, runs `GET /v1/users/me` from the page and reads 200 there.

Without Chromium the test skips and says why; with `REQUIRE_BROWSER=1` (set by `.ci/run` once
the browser is installed) a missing browser fails instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.environment import database_url_for_tests, redis_url_for_tests
from tests.support.factories import UserCreateFactory
from tests.support.outages import closed_port

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
# ReDoc 2 always asks for this logo in its sidebar and hides it when it fails to load: with the
# docs CSP the browser refuses it, offline it cannot load either. The one request to elsewhere.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
START_TIMEOUT_SECONDS = 30
UI_TIMEOUT_SECONDS = 30


def browser() -> tuple[str, str]:
    """Paths of Chromium and its driver, or a skip (a failure when the run requires a browser)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    reason = (
        "no headless Chromium here (need `chromium` and `chromedriver` on PATH: "
        "apt-get install chromium chromium-driver); the docs page was NOT tested in a browser"
    )
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    """uvicorn serving the app (behind the docs CSP) on a free loopback port, against the test database."""
    port = closed_port()
    environment = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis_url_for_tests(),
        "RATE_LIMIT_ENABLED": "false",
    }
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "uvicorn", "app.main:app"),
            *("--host", "127.0.0.1", "--port", str(port)),
            cwd=REPO_ROOT,
            env=environment,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        async with httpx.AsyncClient(base_url=base_url, timeout=1) as client:
            while True:
                try:
                    if (await client.get("/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, log.read_text()
                assert time.monotonic() < deadline, f"uvicorn did not start:\n{log.read_text()}"
                await asyncio.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=20)


@pytest.fixture
def driver() -> Iterator[Any]:
    chromium, chromedriver = browser()
    # Imported here: without a browser the module is collected and skipped, selenium or not.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI containers
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,2000",
        # Offline: no name resolves, and every connection but loopback goes to a closed port.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--proxy-server=http://127.0.0.1:{closed_port()}",
        "--proxy-bypass-list=<-loopback>;127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver from the system, never one Selenium Manager would download.
    session = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield session
    finally:
        session.quit()


def wait_for(driver: Any, selector: str, *, text: str | None = None) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, UI_TIMEOUT_SECONDS)
    if text is not None:
        wait.until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
    return wait.until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, selector)))


def problems_in_console(driver: Any) -> list[str]:
    """Errors the page logged: a blocked asset, a CSP violation, a script error."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and REDOC_LOGO not in entry["message"]
    ]


def resources_loaded(driver: Any) -> list[str]:
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [name for name in names if name != REDOC_LOGO]


def test_authorize_in_swagger_ui_then_read_me(server: str, driver: Any) -> None:
    account = UserCreateFactory.build()
    assert httpx.post(f"{server}/v1/auth/signup", json=account.model_dump(), timeout=10).status_code == 201

    driver.get(f"{server}/docs")
    wait_for(driver, ".swagger-ui .info .title")

    wait_for(driver, ".swagger-ui .auth-wrapper .btn.authorize").click()
    wait_for(driver, "#oauth_username").send_keys(account.email)
    wait_for(driver, "#oauth_password").send_keys(account.password)
    wait_for(driver, ".modal-ux .auth-btn-wrapper .btn.authorize").click()
    # Swagger UI swaps the Authorize button for Logout once the token request succeeded.
    wait_for(driver, ".modal-ux .auth-btn-wrapper .btn.modal-btn", text="Logout")
    wait_for(driver, ".modal-ux .btn-done").click()

    operation = "#operations-users-users-read_me"
    wait_for(driver, f"{operation} .opblock-summary-control").click()
    wait_for(driver, f"{operation} .try-out__btn").click()
    wait_for(driver, f"{operation} .execute").click()
    status = wait_for(driver, f"{operation} .live-responses-table .response .response-col_status", text="200")
    assert status.text.strip() == "200"
    body = wait_for(driver, f"{operation} .live-responses-table .response-col_description .microlight")
    assert account.email in body.text

    assert all(url.startswith(server) for url in resources_loaded(driver)), resources_loaded(driver)
    assert problems_in_console(driver) == []


def test_redoc_renders_the_document(server: str, driver: Any) -> None:
    driver.get(f"{server}/redoc")
    wait_for(driver, ".api-info h1")
    wait_for(driver, "[data-section-id='tag/users']")
    assert all(url.startswith(server) for url in resources_loaded(driver)), resources_loaded(driver)
    assert problems_in_console(driver) == []
