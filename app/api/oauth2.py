"""The token endpoint's protocol rules (RFC 6749 §3.2, §5.2): what FastAPI alone would answer differently.

- `OAuth2TokenRoute` makes every refusal of a token route speak RFC 6749: a
  validation error is `400 invalid_request` (or `unsupported_grant_type`), never
  FastAPI's 422, and the 429 of a rate limit carries an `error` too. OAuth2
  client libraries only recognise an error by that member; without it, authlib
  takes the error body for a token.
- `require_single_valued_form` refuses a body that is not a form and parameters
  sent twice, which FastAPI would otherwise settle silently by taking one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import InvalidRequest, OAuth2Error, RateLimited, UnsupportedGrantType, oauth2_error_members

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class OAuth2TokenRoute(APIRoute):
    """A route of the token endpoint: its errors are RFC 6749 §5.2 errors inside Problem Details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def token_endpoint_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise _from_validation_errors(exc.errors()) from None
            except StarletteHTTPException as exc:
                if exc.status_code != InvalidRequest.status_code:
                    raise
                raise InvalidRequest("The body could not be parsed as a form.") from None
            except RateLimited as exc:
                # RFC 6749 has no error for a rate limit. `invalid_request` maps to a known exception in
                # every client library; the Problem Details code (rate_limited) and Retry-After say the rest.
                raise RateLimited(
                    exc.detail,
                    retry_after_seconds=exc.retry_after_seconds,
                    extensions=oauth2_error_members(InvalidRequest.code, exc.detail),
                ) from None

        return token_endpoint_handler


def _from_validation_errors(errors: Sequence[Mapping[str, Any]]) -> OAuth2Error:
    if any(_field_of(error) == "grant_type" and error.get("type") != "missing" for error in errors):
        return UnsupportedGrantType()
    # The same form is read by the handler and by the per-account rate limit: say each problem once.
    return InvalidRequest(" ".join(dict.fromkeys(_describe(error) for error in errors)))


def _field_of(error: Mapping[str, Any]) -> str | None:
    location = [part for part in error.get("loc", ()) if isinstance(part, str) and part != "body"]
    return str(location[-1]) if location else None


def _describe(error: Mapping[str, Any]) -> str:
    field = _field_of(error)
    if error.get("type") == "missing":
        return f"The {field or 'body'} parameter is required."
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return f"{field}: {message}." if field else f"{message}."


async def require_single_valued_form(request: Request) -> None:
    """RFC 6749 §4.3.2 and §3.2: a form-encoded body in which no parameter appears twice."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise InvalidRequest(f"The body must be {FORM_MEDIA_TYPE}.")
    form = await request.form()  # parsed once per request: FastAPI has already read it
    repeated = sorted({name for name in form if len(form.getlist(name)) > 1})
    if repeated:
        raise InvalidRequest(f"Parameters may not be repeated: {', '.join(repeated)}.")


SingleValuedForm = Depends(require_single_valued_form)
