"""The route template a request matched, for labels that must not explode in cardinality."""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import Scope

UNMATCHED_ROUTE = "<unmatched>"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    return path if isinstance(path, str) else UNMATCHED_ROUTE
