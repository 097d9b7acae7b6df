"""Rules checked on the assembled app and its OpenAPI document. Each test names the rule it proves.

Each rule is a `find_*` function returning what breaks it, so the last test can
prove the checks fail on an app written against the rules.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, FastAPI, Form, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import OAuth2PasswordRequestForm
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from app.api.deps import NoStore, forbid_caching
from app.api.idempotency import Idempotent
from app.api.routing import Route
from app.schemas.base import FormSchema, QuerySchema, RequestSchema, TextInputSchema

PROBLEM_JSON = "application/problem+json"


def all_api_routes(app: FastAPI) -> list[RouteContext]:
    # `app.routes` holds included routers, not their routes: walk them as FastAPI itself does.
    return [route for route in iter_route_contexts(app.routes) if isinstance(route.original_route, APIRoute)]


def api_routes(app: FastAPI) -> list[RouteContext]:
    return [route for route in all_api_routes(app) if route.include_in_schema]


def path_of(route: RouteContext) -> str:
    assert route.path is not None, route  # typed optional for routes in general; every API route has one
    return route.path


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from dependencies(sub)


def find_sync_routes(app: FastAPI) -> list[str]:
    # An `async def` that yields (a streaming endpoint) is an async generator function.
    return [
        path_of(route)
        for route in all_api_routes(app)
        if not (inspect.iscoroutinefunction(route.endpoint) or inspect.isasyncgenfunction(route.endpoint))
    ]


# FastAPI's own OAuth2 form class (DEP-3) is a plain class: constructing it does no I/O.
FRAMEWORK_CLASSES: tuple[type, ...] = (OAuth2PasswordRequestForm,)


def find_sync_dependencies(app: FastAPI) -> set[str]:
    sync = set()
    for route in all_api_routes(app):
        for dependency in dependencies(route.dependant):
            call = dependency.call
            if call in FRAMEWORK_CLASSES:
                continue
            target = call if inspect.isfunction(call) else getattr(call, "__call__", call)  # noqa: B004
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                sync.add(getattr(call, "__name__", repr(call)))
    return sync


TOKEN_ENDPOINTS = frozenset({"/v1/auth/token", "/v1/auth/refresh"})


def find_undocumented_operations(app: FastAPI) -> list[str]:
    problems = []
    operation_ids: set[str] = set()
    for method, path, operation in operations(app):
        where = f"{method} {path}"
        problems += [
            f"{where}: no {member}" for member in ("summary", "description", "tags") if not operation.get(member)
        ]
        operation_id = operation.get("operationId", "")
        tag = (operation.get("tags") or ["?"])[0]
        if operation_id in operation_ids or not operation_id.startswith(f"{tag}-"):
            problems.append(f"{where}: operationId {operation_id!r} is not a unique '{{tag}}-{{name}}'")
        operation_ids.add(operation_id)
        responses = operation["responses"]
        successes = [status for status in responses if status.startswith("2")]
        if len(successes) != 1:
            problems.append(f"{where}: expected one success status, got {successes}")
        problems += [
            f"{where}: {status} is not documented as Problem Details"
            for status, response in responses.items()
            if status.startswith(("4", "5")) and PROBLEM_JSON not in response.get("content", {})
        ]
        # Invalid input is a 422, except at the OAuth2 token endpoint, where RFC 6749 makes it a 400.
        answers_invalid_input = "422" in responses or (path in TOKEN_ENDPOINTS and "400" in responses)
        if (operation.get("parameters") or operation.get("requestBody")) and not answers_invalid_input:
            problems.append(f"{where}: takes input but does not document 422")
    return problems


def sse_event_payloads(app: FastAPI, route: RouteContext) -> list[dict[str, Any]]:
    """The documented `data` of each event a Server-Sent Events route sends, as OpenAPI shows them."""
    [method] = list(route.methods or [])
    success = app.openapi()["paths"][route.path_format][method.lower()]["responses"][str(route.status_code or 200)]
    item = success["content"]["text/event-stream"]["itemSchema"]
    return [event["properties"]["data"] for event in item.get("oneOf", [item])]


def find_undeclared_responses(app: FastAPI) -> list[str]:
    undeclared = []
    for route in api_routes(app):
        if route.is_sse_stream:
            # The stream is the response: each event's payload must be a declared, documented model.
            declared = all("contentSchema" in payload for payload in sse_event_payloads(app, route))
        else:
            model = route.response_model
            declared = route.status_code == 204 or (inspect.isclass(model) and issubclass(model, BaseModel))
        if not declared:
            undeclared.append(path_of(route))
    return undeclared


def find_loose_request_models(app: FastAPI) -> list[str]:
    loose = []
    for route in api_routes(app):
        for param in [*route.dependant.body_params, *route.dependant.query_params]:
            bases: tuple[type[BaseModel], ...] = (
                (RequestSchema,) if param in route.dependant.body_params else (QuerySchema,)
            )
            if isinstance(param.field_info, params.Form):
                # A form an external protocol defines (RFC 6749) may follow that protocol's rules instead.
                bases = (*bases, FormSchema)
            annotation = param.field_info.annotation
            if inspect.isclass(annotation) and issubclass(annotation, BaseModel) and not issubclass(annotation, bases):
                loose.append(f"{route.path}: {annotation.__name__} must derive from {bases[0].__name__}")
    return loose


def find_idempotency_gaps(app: FastAPI) -> list[str]:
    """Routes taking `Idempotency-Key` must run on `Route` (which stores the response) and document 409."""
    gaps = []
    for route in api_routes(app):
        names = {getattr(dependency.call, "__name__", "") for dependency in dependencies(route.dependant)}
        if "check_idempotency_key" not in names:
            continue
        if not isinstance(route.original_route, Route):
            gaps.append(f"{path_of(route)}: not served by app.api.routing.Route")
        for method in route.methods or []:
            operation = app.openapi()["paths"][route.path_format][method.lower()]
            if "409" not in operation["responses"]:
                gaps.append(f"{method} {path_of(route)}: takes Idempotency-Key but does not document 409")
    return gaps


def test_http3_idempotent_routes_store_their_responses_and_document_409(app: FastAPI) -> None:
    assert not find_idempotency_gaps(app)


def _takes_text(annotation: object) -> bool:
    """True when a parameter's type is, or may be, a plain str (str, str | None, list[str], ...)."""
    if annotation is str:
        return True
    return any(_takes_text(argument) for argument in get_args(annotation))


def find_unguarded_text_inputs(app: FastAPI) -> list[str]:
    """Text reaching a route outside the input bases, whose one check refuses unstorable text (SEC-1).

    Headers and cookies are left out: HTTP parsers refuse NUL in them before the app runs.
    """
    unguarded = []
    for route in api_routes(app):
        for dependant in [route.dependant, *dependencies(route.dependant)]:
            for param in [*dependant.path_params, *dependant.query_params, *dependant.body_params]:
                annotation = param.field_info.annotation
                if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
                    if not issubclass(annotation, TextInputSchema):
                        unguarded.append(f"{route.path}: {annotation.__name__} is not a TextInputSchema")
                elif _takes_text(annotation):
                    unguarded.append(f"{route.path}: {param.name} is text outside the input bases")
    return unguarded


def test_sec1_every_text_input_passes_the_input_bases(app: FastAPI) -> None:
    assert not find_unguarded_text_inputs(app)


def test_sec1_the_input_bases_share_one_text_check() -> None:
    for base in (RequestSchema, QuerySchema, FormSchema):
        assert issubclass(base, TextInputSchema)
        assert base.model_config.get("allow_inf_nan") is False


def test_asy1_every_route_is_async(app: FastAPI) -> None:
    assert not find_sync_routes(app)


def test_dep6_every_dependency_is_async(app: FastAPI) -> None:
    assert not find_sync_dependencies(app)


def test_api4_every_operation_is_documented_for_sdk_generation(app: FastAPI) -> None:
    assert not find_undocumented_operations(app)


def test_sch3_every_success_is_a_declared_model(app: FastAPI) -> None:
    assert not find_undeclared_responses(app)


def test_sch2_sch8_request_models_use_the_strict_bases(app: FastAPI) -> None:
    assert not find_loose_request_models(app)


def test_sch2_the_bases_forbid_unknown_fields_and_coercion() -> None:
    assert RequestSchema.model_config["extra"] == "forbid"
    assert RequestSchema.model_config["strict"] is True
    assert RequestSchema.model_config["str_strip_whitespace"] is True
    assert QuerySchema.model_config["extra"] == "forbid"


class LooseBody(BaseModel):
    name: str


def blocking_dependency() -> None: ...


def test_the_route_checks_catch_a_badly_written_app() -> None:
    # Module-level helpers: annotations are strings here, resolved against module globals.
    # Routes on an included router, as in the real app: the checks must look inside it.
    router = APIRouter()

    @router.post("/things")
    def create_thing(body: LooseBody, _: Annotated[None, Depends(blocking_dependency)]) -> dict[str, str]:
        return {"name": body.name}

    @router.post("/search")
    async def search(q: str, username: Annotated[str | None, Form()] = None) -> LooseBody:
        return LooseBody(name=f"{q}{username}")

    @router.get("/events", response_class=EventSourceResponse)
    async def stream_events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(data={"anything": "goes"})

    @router.post("/orders", summary="Order", description="Order.", dependencies=[Idempotent])
    async def create_order() -> LooseBody:
        return LooseBody(name="order")

    bad = FastAPI()
    bad.include_router(router)

    assert find_sync_routes(bad) == ["/things"]
    assert find_sync_dependencies(bad) == {"blocking_dependency"}
    assert find_undeclared_responses(bad) == ["/things", "/events"]  # /orders declares LooseBody
    assert find_loose_request_models(bad) == ["/things: LooseBody must derive from RequestSchema"]
    assert find_unguarded_text_inputs(bad) == [
        "/things: LooseBody is not a TextInputSchema",
        "/search: q is text outside the input bases",
        "/search: username is text outside the input bases",
    ]
    undocumented = find_undocumented_operations(bad)
    assert any("no description" in problem for problem in undocumented)
    assert any("422 is not documented as Problem Details" in problem for problem in undocumented)
    assert find_idempotency_gaps(bad) == [
        "/orders: not served by app.api.routing.Route",
        "POST /orders: takes Idempotency-Key but does not document 409",
    ]


SECRET_RESPONSE_FIELDS = frozenset({"access_token", "refresh_token", "token", "secret", "client_secret"})


def find_cacheable_secrets(app: FastAPI) -> list[str]:
    """Routes whose success body holds a token or a secret but which do not forbid caching it."""
    cacheable = []
    for route in api_routes(app):
        model = route.response_model
        if not (inspect.isclass(model) and issubclass(model, BaseModel)):
            continue
        if SECRET_RESPONSE_FIELDS & set(model.model_fields):
            calls = {dependant.call for dependant in route.dependant.dependencies}
            if forbid_caching not in calls:
                cacheable.append(path_of(route))
    return cacheable


def test_every_response_carrying_a_secret_forbids_caching(app: FastAPI) -> None:
    # RFC 6749 §5.1 for tokens; the same for any secret shown once (webhook signing secrets, ...).
    assert not find_cacheable_secrets(app)


class IssuedKey(BaseModel):
    id: int
    secret: str


def test_the_caching_check_catches_a_secret_served_without_no_store() -> None:
    router = APIRouter()

    @router.post("/keys")
    async def issue_key() -> IssuedKey:
        return IssuedKey(id=1, secret="s")

    @router.post("/safe-keys", dependencies=[NoStore])
    async def issue_safe_key() -> IssuedKey:
        return IssuedKey(id=1, secret="s")

    bad = FastAPI()
    bad.include_router(router)
    assert find_cacheable_secrets(bad) == ["/keys"]
