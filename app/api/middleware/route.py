"""The route template a request matched (`/v1/users/{user_id}`), for labels that must not explode in cardinality.

FastAPI puts the matched API route in `scope["route"]`, but an included router's
route knows only its own path (`/{user_id}`). The full template comes from the
app's route contexts, computed once per app.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from fastapi.routing import iter_route_contexts
from starlette.applications import Starlette
from starlette.routing import Match, Route
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"

_templates: WeakKeyDictionary[Starlette, dict[int, str]] = WeakKeyDictionary()
_framework_routes: WeakKeyDictionary[Starlette, list[Route]] = WeakKeyDictionary()


def _templates_of(app: Starlette) -> dict[int, str]:
    templates = _templates.get(app)
    if templates is None:
        templates = {
            id(context.original_route): context.path_format
            for context in iter_route_contexts(app.routes)
            if context.path_format is not None
        }
        _templates[app] = templates
    return templates


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    app = scope.get("app")
    if route is None:
        return _framework_route(app, scope) if isinstance(app, Starlette) else UNMATCHED_ROUTE
    template = _templates_of(app).get(id(route)) if isinstance(app, Starlette) else None
    path = template or getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def _framework_route(app: Starlette, scope: Scope) -> str:
    """`/docs`, `/openapi.json`: the framework's own plain routes leave no `scope["route"]`.

    They are few and fixed, so matching them here (only for requests no API route took)
    keeps their traffic visible without letting unknown paths into the labels.
    """
    routes = _framework_routes.get(app)
    if routes is None:
        routes = [route for route in app.routes if type(route) is Route]
        _framework_routes[app] = routes
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path
    return UNMATCHED_ROUTE
