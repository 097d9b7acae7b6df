"""OpenAPI details that make the document fit for SDK generation (API-4, API-5)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.oauth2 import OAuth2TokenRoute
from app.api.problems import PROBLEM_JSON


def operation_id(route: APIRoute) -> str:
    """`{tag}-{function name}`, e.g. `users-read_me`: stable, unique, readable as an SDK method."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def links_from_created(parameter: str, *operation_ids: str) -> dict[str, Any]:
    """OpenAPI links from a create operation's response to the operations that take the new `id`.

    They tell generators and fuzzers (schemathesis' stateful mode) how operations chain:
    create a post, then read, change and delete that very post.
    """
    new_id = {parameter: "$response.body#/id"}
    return {
        "links": {
            operation_id.partition("-")[2]: {"operationId": operation_id, "parameters": new_id}
            for operation_id in operation_ids
        }
    }


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
            _drop_validation_error_of_token_routes(app, schema)
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


def _drop_validation_error_of_token_routes(app: FastAPI, schema: dict[str, Any]) -> None:
    # FastAPI documents a 422 for every operation with input; the token endpoint answers 400 instead.
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, OAuth2TokenRoute) and context.path_format and context.methods:
            for method in context.methods:
                schema["paths"][context.path_format][method.lower()]["responses"].pop("422", None)
