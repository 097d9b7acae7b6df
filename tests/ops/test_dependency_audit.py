"""`scripts/audit_dependencies.sh` fails on a known-vulnerable pin and names the advisory.

The advisory service is a stand-in on loopback that speaks OSV's query API: the test controls
which locked package is "vulnerable", and no request leaves the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support.outages import closed_port

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "audit_dependencies.sh"
BASH = shutil.which("bash") or "/bin/bash"
TIMEOUT_SECONDS = 180
ADVISORY_ID = "GHSA-test-0001-0001"
VULNERABLE_PACKAGE = "httpx"  # locked, so pip-audit asks about it


def advisory(name: str) -> dict[str, object]:
    return {
        "id": ADVISORY_ID,
        "aliases": ["CVE-2099-0001"],
        "summary": "A stand-in advisory for the audit test",
        "details": "Every version is affected; none fixes it.",
        "affected": [
            {
                "package": {"name": name, "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
            }
        ],
    }


class StandInOsv(BaseHTTPRequestHandler):
    vulnerable: frozenset[str] = frozenset()

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        name = query.get("package", {}).get("name", "")
        body = json.dumps({"vulns": [advisory(name)]} if name in self.vulnerable else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
        pass


def serve(vulnerable: frozenset[str]) -> Iterator[str]:
    handler = type("Handler", (StandInOsv,), {"vulnerable": vulnerable})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clean_osv() -> Iterator[str]:
    yield from serve(frozenset())


@pytest.fixture
def osv_with_a_vulnerable_pin() -> Iterator[str]:
    yield from serve(frozenset({VULNERABLE_PACKAGE}))


def audit(osv_url: str, *, required: bool) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "AUDIT_OSV_URL": osv_url, "AUDIT_REQUIRED": "1" if required else "0"}
    return subprocess.run(  # noqa: S603 - our own script
        [BASH, str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


@pytest.mark.slow
def test_a_known_vulnerable_pin_fails_the_audit_with_its_advisory_id(osv_with_a_vulnerable_pin: str) -> None:
    result = audit(osv_with_a_vulnerable_pin, required=True)
    assert result.returncode != 0
    assert ADVISORY_ID in result.stdout
    assert VULNERABLE_PACKAGE in result.stdout


@pytest.mark.slow
def test_a_clean_lock_passes(clean_osv: str) -> None:
    result = audit(clean_osv, required=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities found" in result.stdout + result.stderr


def test_an_unreachable_service_fails_only_where_the_audit_is_required() -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}/v1/query"
    required = audit(nowhere, required=True)
    assert required.returncode == 1
    assert "unreachable" in required.stderr
    optional = audit(nowhere, required=False)
    assert optional.returncode == 0
    assert "SKIPPED" in optional.stdout
