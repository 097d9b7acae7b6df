"""Answer only to the host names in `APP_ALLOWED_HOSTS` (Starlette's TrustedHostMiddleware decides).

A forged `Host` would otherwise be reflected wherever the app builds an absolute URL
(the trailing-slash redirect, links in e-mails built from the request). Starlette's
refusal is a plain-text 400; this wrapper answers it with Problem Details like every
other error, without echoing the host back.

The probes under `/health/` answer whatever the `Host`: a platform's health checker calls
them by address (Kubernetes sends the pod's IP), they build no URL and reveal nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import error_response
from app.core.errors import UntrustedHost

_TRUSTED = "app.trusted_host"
PROBE_PATHS = "/health/"


class AllowedHostsMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.guard = TrustedHostMiddleware(self._trusted, allowed_hosts=allowed_hosts, www_redirect=False)

    async def _trusted(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_TRUSTED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.guard(scope, receive, send)
            return
        if scope["path"].startswith(PROBE_PATHS):
            await self.app(scope, receive, send)
            return

        async def send_unless_refused(message: Message) -> None:
            # Only the guard's own refusal is swallowed: it is sent before the app ever runs.
            if scope.get(_TRUSTED):
                await send(message)

        await self.guard(scope, receive, send_unless_refused)
        if not scope.get(_TRUSTED):
            await error_response(Request(scope), UntrustedHost())(scope, receive, send)
