"""The error pipeline: every exception becomes an `application/problem+json` response.

One renderer, `problem_response`, builds every error body the service sends, so
the shape (RFC 9457 members plus `code` and `request_id`) cannot drift between
handlers. Each handler logs what it turns into a response (ERR-5).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar, cast

import redis.exceptions
import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import exc as orm_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.middleware.route import methods_of_path
from app.api.request_context import REQUEST_ID_HEADER, request_id_of
from app.core import tracing
from app.core.config import Settings
from app.core.errors import (
    ERRORS_BY_STATUS,
    AppError,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    FieldInvalid,
    InsufficientScope,
    InvalidAccessToken,
    MethodNotAllowed,
    ServiceUnavailable,
    ValidationFailed,
    oauth2_description,
)
from app.db.errors import is_database_unavailable, is_invalid_data, is_unique_violation
from app.schemas.problem import ProblemDetails, ValidationProblemDetails

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS_ON_OUTAGE = 5
# Field names whose values never go back to the client, even inside a 422.
SECRET_FIELDS = frozenset(
    {
        "password",
        "current_password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "secret",
        "client_secret",
    }
)
_REDACTED = "[redacted]"
# How deep an echoed input is copied into a 422; deeper parts are replaced, so any input renders.
_MAX_ECHO_DEPTH = 20
_TRUNCATED = "[truncated]"
# Python refuses to print integers longer than 4,300 digits; far shorter ones are never real input.
_MAX_ECHO_INT_BITS = 1024

logger = structlog.get_logger(__name__)


def problem_type_uri(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/{code.replace('_', '-')}"


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | list[Any],
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    """Render one Problem Details response; every error body the service sends is built here."""
    settings: Settings = request.app.state.settings
    request_id = request_id or request_id_of(request)
    body: dict[str, Any] = {
        **(extensions or {}),
        "type": problem_type_uri(str(settings.app.problem_base_url), code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
        "request_id": request_id,
    }
    trace_id = tracing.current_trace_id()
    if trace_id is not None:
        # With tracing on, the id to paste into the trace UI; the request id stays the one to quote.
        body["trace_id"] = trace_id
    response_headers = {**(headers or {}), REQUEST_ID_HEADER: request_id}
    if status == AuthenticationFailed.status_code:
        # No token was presented (RFC 6750 §3.1): the bare challenge, without an error code.
        response_headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body, status_code=status, headers=response_headers, media_type=PROBLEM_JSON)


def bearer_challenge(error: AppError) -> str | None:
    """The RFC 6750 §3 `WWW-Authenticate` challenge that says why a bearer token was not enough."""
    if isinstance(error, InvalidAccessToken):
        return f'Bearer error="invalid_token", error_description="{oauth2_description(error.detail)}"'
    if isinstance(error, InsufficientScope):
        return f'Bearer error="insufficient_scope", scope="{" ".join(error.scopes)}"'
    return None


def error_response(
    request: Request, error: AppError, *, detail: str | list[Any] | None = None, request_id: str | None = None
) -> JSONResponse:
    headers = {} if error.retry_after_seconds is None else {"Retry-After": str(error.retry_after_seconds)}
    challenge = bearer_challenge(error)
    if challenge is not None:
        headers["WWW-Authenticate"] = challenge
    return problem_response(
        request,
        status=error.status_code,
        code=error.code,
        title=error.title,
        detail=error.detail if detail is None else detail,
        headers=headers,
        extensions=error.extensions,
        request_id=request_id,
    )


async def handle_app_error(request: Request, exc: AppError) -> JSONResponse:
    log = logger.error if exc.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR else logger.info
    log("request failed", code=exc.code, status=exc.status_code, detail=exc.detail)
    if isinstance(exc, FieldInvalid):
        # Business-rule refusals of one field read like schema errors: one list for clients to parse.
        error = {"type": exc.error_type, "loc": [exc.location, exc.field], "msg": exc.detail}
        return error_response(request, exc, detail=[error])
    return error_response(request, exc)


async def handle_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Routing 404/405, the body limit's 413 and any HTTPException raised by the framework."""
    if exc.status_code == BadRequest.status_code and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a JSON body that is not UTF-8 with a bare 400; JSON must be UTF-8 (RFC 8259 §8.1),
        # so it is invalid JSON like any other, and gets the same documented 422 as a syntax error.
        not_utf8 = {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error", "ctx": {"error": "not UTF-8"}}
        logger.info("request invalid", errors=[{"loc": ["body"], "type": "json_invalid"}])
        return error_response(request, ValidationFailed(), detail=[not_utf8])
    headers = exc.headers
    if exc.status_code == MethodNotAllowed.status_code:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    phrase = _phrase(exc.status_code)
    error = ERRORS_BY_STATUS.get(exc.status_code)
    # The framework's details are bare status phrases; ours say what happened.
    detail = str(exc.detail) if exc.detail and exc.detail != phrase else (error.default_detail if error else phrase)
    logger.info("request failed", status=exc.status_code, detail=detail)
    return problem_response(
        request,
        status=exc.status_code,
        code=error.code if error else "http_error",
        title=error.title if error else phrase,
        detail=detail,
        headers=headers,
    )


async def handle_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Whatever the client sent (NaN, 1e999, lone surrogates, deep nesting), the 422 must render.
    errors = [_redact_error(json_safe(error)) for error in exc.errors()]
    logger.info("request invalid", errors=[{"loc": e.get("loc"), "type": e.get("type")} for e in errors])
    return error_response(request, ValidationFailed(), detail=errors)


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_unique_violation(exc):
        # A uniqueness race the service could not foresee (its own checks passed).
        logger.info("request conflicts with a unique constraint", error=str(exc.__cause__ or exc))
        return error_response(request, Conflict())
    if is_database_unavailable(exc):
        return _outage(request, exc, "database")
    if is_invalid_data(exc):
        # The schemas refuse what PostgreSQL cannot store; this is the backstop for a value they missed.
        logger.warning("database refused a value", error=type(exc.__cause__ or exc).__name__)
        error = {"type": "value_error", "loc": ["body"], "msg": "A value in the request cannot be stored."}
        return error_response(request, ValidationFailed(), detail=[error])
    return await handle_unexpected_error(request, exc)


async def handle_stale_write(request: Request, exc: Exception) -> JSONResponse:
    """A write based on an outdated read: the row's version moved on between this request's read and
    its UPDATE or DELETE (`version_id_col`, app/db/base.py). Nothing was written; the other change stands."""
    logger.info("write refused: the row changed since it was read", error=str(exc))
    return error_response(
        request, Conflict("The resource was changed by another request while this one ran; read it again and retry.")
    )


async def handle_redis_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return _outage(request, exc, "redis")
    return await handle_unexpected_error(request, exc)


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """The catch-all (ERR-3): the log gets the traceback, the client gets nothing of it."""
    logger.error("unhandled exception", exc_info=exc)
    return error_response(request, AppError())


def _outage(request: Request, exc: Exception, dependency: str) -> JSONResponse:
    logger.warning("dependency unavailable", dependency=dependency, error=repr(exc))
    return error_response(request, ServiceUnavailable(retry_after_seconds=RETRY_AFTER_SECONDS_ON_OUTAGE))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers (RFC 9110 §15.5.6), not only the first route's.

    Starlette fills `Allow` from the first route whose path matched, so `PUT /v1/posts`
    would be told `POST` although `GET` is there too.
    """
    methods = set(methods_of_path(request.app, request.url.path))
    if "GET" in methods:
        methods.add("HEAD")  # answered for every GET route (app.api.middleware.http_semantics)
    return sorted(methods)


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def json_safe(value: object, depth: int = 0) -> Any:  # noqa: ANN401, PLR0911 - one return per JSON type
    """A copy of `value` that strict JSON can carry: finite numbers, UTF-8 text, bounded depth."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        # A lone surrogate cannot be encoded as UTF-8: it is shown as its escape instead.
        return value if value.isascii() else value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_ECHO_INT_BITS else _TRUNCATED
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= _MAX_ECHO_DEPTH:
        return _TRUNCATED
    if isinstance(value, Mapping):
        return {str(json_safe(str(key))): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, bytes):
        return json_safe(value.decode("utf-8", "backslashreplace"))
    # UUIDs, datetimes, exceptions in `ctx`...: FastAPI's encoder knows them; the result is made safe too.
    return json_safe(jsonable_encoder(value), depth + 1)


def _redact_error(error: dict[str, Any]) -> dict[str, Any]:
    loc = error.get("loc") or []
    if any(part in SECRET_FIELDS for part in loc if isinstance(part, str)):
        error = {**error, "input": _REDACTED}
    elif "input" in error:
        error = {**error, "input": _redact_value(error["input"])}
    ctx = error.get("ctx")
    if isinstance(ctx, dict):
        error["ctx"] = _redact_value(ctx)
    return error


def _redact_value(value: object) -> object:
    if isinstance(value, dict):
        return {k: _REDACTED if k in SECRET_FIELDS else _redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    return value


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry for an operation's error statuses, documented as Problem Details.

    The media type is rewritten to `application/problem+json` when the OpenAPI
    document is built (see `app.api.openapi`).
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        error = ERRORS_BY_STATUS.get(status)
        responses[status] = {
            "model": ValidationProblemDetails if status == ValidationFailed.status_code else ProblemDetails,
            "description": error.title if error else _phrase(status),
        }
    return responses


ExceptionT = TypeVar("ExceptionT", bound=Exception)


def _handler(
    handler: Callable[[Request, ExceptionT], Awaitable[JSONResponse]],
) -> Callable[[Request, Exception], Awaitable[Response]]:
    # Starlette picks a handler by the exception's class, so the cast only restates that choice.
    async def dispatch(request: Request, exc: Exception) -> Response:
        return await handler(request, cast("ExceptionT", exc))

    return dispatch


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handler(handle_app_error))
    app.add_exception_handler(StarletteHTTPException, _handler(handle_http_exception))
    app.add_exception_handler(RequestValidationError, _handler(handle_validation_error))
    # Outages and database failures, wherever they surface (handler, dependency, commit).
    for database_error in (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError, TimeoutError):
        app.add_exception_handler(database_error, handle_database_error)
    app.add_exception_handler(redis.exceptions.RedisError, handle_redis_error)
    app.add_exception_handler(orm_exc.StaleDataError, handle_stale_write)
