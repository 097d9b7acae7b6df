"""OpenAPI details that make the document fit for SDK generation (API-4, API-5)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.api.problems import PROBLEM_JSON


def operation_id(route: APIRoute) -> str:
    """`{tag}-{function name}`, e.g. `users-read_me`: stable, unique, readable as an SDK method."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                servers=app.servers,
            )
            _advertise_problem_media_type(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _advertise_problem_media_type(schema: dict[str, Any]) -> None:
    # FastAPI files an error model under the route's own media type: application/json, or
    # text/event-stream on a streaming route. Error bodies are problem+json whatever the route.
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and len(content) == 1 and PROBLEM_JSON not in content:
                    [body] = content.values()
                    response["content"] = {PROBLEM_JSON: body}
