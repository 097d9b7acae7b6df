"""The route class every router uses, and what it lets a dependency do with the route's response.

Two things a plain FastAPI dependency cannot do:

- **Answer instead of the route**: `raise RespondWith(response)` (a 304, a replayed response).
  The route's handler does not run, and the request's transaction rolls back, as for any
  exception; nothing was written.
- **See the response the route produced, before the transaction commits**: `on_response(request,
  hook)`. The idempotency dependency stores the response this way, in the same transaction as the
  effect. A dependency's own exit code cannot do it: it runs after the response is built but is
  never shown it.

`Route` runs the hooks after the handler returned and its response was serialized, and before the
session dependency's exit commits; an exception in a hook rolls the request back like any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute

ResponseHook = Callable[[Response], Awaitable[None]]
_HOOKS = "app.response_hooks"


class RespondWith(Exception):
    """Raised by a dependency that already has the answer; the route's handler is skipped."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class Route(APIRoute):
    """`APIRouter(..., route_class=Route)`: runs the response hooks dependencies registered."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_with_hooks(request: Request) -> Response:
            request.scope[_HOOKS] = []
            response = await handle(request)
            for hook in request.scope[_HOOKS]:
                await hook(response)
            return response

        return handle_with_hooks


def on_response(request: Request, hook: ResponseHook) -> None:
    """Run `hook` with the route's response while the request's transaction is still open."""
    hooks: list[ResponseHook] | None = request.scope.get(_HOOKS)
    if hooks is None:
        # Failing loudly beats a hook that silently never runs (an idempotency key never stored).
        raise RuntimeError(f"{request.url.path} is not served by app.api.routing.Route: declare its router with it")
    hooks.append(hook)


async def _respond(request: Request, exc: Exception) -> Response:  # noqa: ARG001 - Starlette's handler signature
    # Registered for RespondWith only: Starlette picks the handler by the exception's class.
    return cast("RespondWith", exc).response


def install_routing(app: FastAPI) -> None:
    app.add_exception_handler(RespondWith, _respond)
