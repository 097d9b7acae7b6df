"""The route template a request matched (`/v1/users/{user_id}`), for labels that must not explode in cardinality.

FastAPI puts the matched route in `scope["route"]`, but an included router's
route knows only its own path (`/{user_id}`). The full template comes from the
app's route contexts, computed once per app.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from fastapi.routing import iter_route_contexts
from starlette.applications import Starlette
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"

_templates: WeakKeyDictionary[Starlette, dict[int, str]] = WeakKeyDictionary()


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
    if route is None:
        return UNMATCHED_ROUTE
    app = scope.get("app")
    template = _templates_of(app).get(id(route)) if isinstance(app, Starlette) else None
    path = template or getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE
