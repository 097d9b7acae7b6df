"""What the routing table knows about a request, computed once per app from its route contexts.

- `route_template`: the template a request matched (`/v1/users/{user_id}`), for labels
  that must not explode in cardinality. FastAPI puts the matched route in
  `scope["route"]`, but an included router's route knows only its own path (`/{user_id}`);
  the framework's own plain routes (`/docs`, `/openapi.json`) leave none.
- `methods_of_path`: every method some route of a path answers, for the `Allow` header.
"""

from __future__ import annotations

import re
from weakref import WeakKeyDictionary

from fastapi.routing import iter_route_contexts
from starlette.applications import Starlette
from starlette.routing import Match, Route, compile_path
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"

_templates: WeakKeyDictionary[Starlette, dict[int, str]] = WeakKeyDictionary()
_framework_routes: WeakKeyDictionary[Starlette, list[Route]] = WeakKeyDictionary()
_methods: WeakKeyDictionary[Starlette, list[tuple[re.Pattern[str], frozenset[str]]]] = WeakKeyDictionary()


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


def _methods_by_path_of(app: Starlette) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    methods = _methods.get(app)
    if methods is None:
        methods = [
            (compile_path(context.path_format)[0], frozenset(context.methods))
            for context in iter_route_contexts(app.routes)
            if context.path_format is not None and context.methods
        ]
        _methods[app] = methods
    return methods


def methods_of_path(app: Starlette, path: str) -> frozenset[str]:
    """Every method declared by any route whose template matches `path`."""
    return frozenset().union(*(methods for pattern, methods in _methods_by_path_of(app) if pattern.match(path)))
