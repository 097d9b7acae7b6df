"""The domain error hierarchy.

Services raise these; the API layer turns every one into Problem Details
(RFC 9457). Each class fixes an HTTP status, a stable machine-readable `code`
and a stable `title`; the instance carries only the human `detail`. Nothing here
imports the web framework, so services and jobs can raise them freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


class AppError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"
    default_detail: ClassVar[str] = "The server could not complete the request."
    # True when the changes made before the error must still be committed (see app/db/session.py).
    keep_changes: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after_seconds: int | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.retry_after_seconds = retry_after_seconds
        self.extensions: Mapping[str, Any] = extensions or {}
        super().__init__(self.detail)


class BadRequest(AppError):
    status_code = 400
    code = "bad_request"
    title = "Bad request"
    default_detail = "The request cannot be processed as sent."


class UntrustedHost(BadRequest):
    code = "untrusted_host"
    title = "Untrusted host"
    default_detail = "The Host header does not name this service."


class AuthenticationFailed(AppError):
    status_code = 401
    code = "authentication_failed"
    title = "Authentication failed"
    default_detail = "Valid credentials are required."


class PermissionDenied(AppError):
    status_code = 403
    code = "permission_denied"
    title = "Permission denied"
    default_detail = "The credentials do not grant access to this operation."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    title = "Not found"
    default_detail = "The requested resource does not exist."


class MethodNotAllowed(AppError):
    status_code = 405
    code = "method_not_allowed"
    title = "Method not allowed"
    default_detail = "The resource does not support this method."


class Conflict(AppError):
    status_code = 409
    code = "conflict"
    title = "Conflict"
    default_detail = "The request conflicts with the current state of the resource."


class PreconditionFailed(AppError):
    """RFC 9110 §13.1.1: `If-Match` named a version of the resource that is no longer current."""

    status_code = 412
    code = "precondition_failed"
    title = "Precondition failed"
    default_detail = "The resource has changed since the version named in If-Match; read it again, then retry."


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"
    default_detail = "The request body exceeds the size this service accepts."


class RequestHeaderFieldsTooLarge(AppError):
    """Raised by no handler: the server protocol (`app/serving.py`) answers it before the app sees the request."""

    status_code = 431
    code = "request_header_fields_too_large"
    title = "Request header fields too large"
    default_detail = "The request line and headers exceed the size this service accepts."


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_failed"
    title = "Validation failed"
    default_detail = "The request is not valid."


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"
    default_detail = "The rate limit for this operation was exceeded; retry later."


class ServiceUnavailable(AppError):
    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"
    default_detail = "A service this request depends on is unavailable; retry later."


class FieldInvalid(ValidationFailed):
    """A value that is well-formed but refused by a business rule; rendered like a schema error.

    `location` is where the value came from, as in FastAPI's own errors: `body` or `header`.
    """

    def __init__(self, field: str, message: str, *, error_type: str, location: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.error_type = error_type
        self.location = location


# --- identity --------------------------------------------------------------------------


class EmailTaken(Conflict):
    code = "email_taken"
    title = "E-mail already registered"
    default_detail = "An account with this e-mail address already exists."


class WebhookLimitReached(Conflict):
    code = "webhook_limit_reached"
    title = "Webhook limit reached"
    default_detail = "The account holds as many webhooks as it may; remove one first."


class TooManyExports(RateLimited):
    code = "too_many_exports"
    title = "Too many exports at once"
    default_detail = "This account already runs as many exports as it may; retry when one has finished."


# --- OAuth2 (RFC 6749 §5.2, RFC 6750 §3) ----------------------------------------------

# RFC 6749 §5.2 and RFC 6750 §3 allow only these characters in `error_description`.
_NOT_IN_ERROR_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


def oauth2_description(text: str) -> str:
    """`text` reduced to the characters an `error_description` may hold (no quotes, no backslash, ASCII)."""
    return _NOT_IN_ERROR_DESCRIPTION.sub("", text)


def oauth2_error_members(error: str, description: str) -> dict[str, str]:
    """The RFC 6749 §5.2 members a token-endpoint error adds to its Problem Details body."""
    return {"error": error, "error_description": oauth2_description(description)}


class OAuth2Error(BadRequest):
    """An error of the token endpoint: Problem Details that also speaks RFC 6749 §5.2.

    The `code` doubles as the RFC 6749 `error`, so OAuth2 client libraries raise their
    own exception for it while Problem Details clients branch on `code` as everywhere else.
    """

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail)
        self.extensions = oauth2_error_members(self.code, self.detail)


class InvalidRequest(OAuth2Error):
    """RFC 6749 §5.2 `invalid_request`: a parameter missing, repeated or malformed, or a body that is not a form."""

    code = "invalid_request"
    title = "Invalid token request"
    default_detail = "The token request is missing a parameter, repeats one, or is malformed."


class UnsupportedGrantType(OAuth2Error):
    """RFC 6749 §5.2 `unsupported_grant_type`."""

    code = "unsupported_grant_type"
    title = "Unsupported grant type"
    default_detail = "The grant type is not supported; use password or refresh_token."


class InvalidGrant(OAuth2Error):
    """RFC 6749 §5.2 `invalid_grant`: bad credentials or an unusable refresh token."""

    code = "invalid_grant"
    title = "Invalid grant"
    default_detail = "The credentials or refresh token are invalid, expired or revoked."


class RefreshTokenReplayed(InvalidGrant):
    """A rotated refresh token came back: its family is revoked, and that revocation must stick."""

    keep_changes = True


class InvalidScope(OAuth2Error):
    """RFC 6749 §5.2 `invalid_scope`: a scope the account (or the refreshed grant) does not hold."""

    code = "invalid_scope"
    title = "Invalid scope"
    default_detail = "The requested scope exceeds the scopes granted."


class InvalidAccessToken(AuthenticationFailed):
    """A bearer token was presented and cannot be trusted: RFC 6750 §3 `invalid_token`."""

    default_detail = "The access token is invalid, expired or revoked."


class InsufficientScope(PermissionDenied):
    """The token is good but lacks scopes: RFC 6750 §3 `insufficient_scope`, naming the scopes needed."""

    def __init__(self, scopes: Iterable[str]) -> None:
        self.scopes = tuple(sorted(scopes))
        super().__init__(f"This operation needs the scope {' '.join(self.scopes)}.")


# --- HTTP semantics ---------------------------------------------------------------------


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class IdempotencyKeyInFlight(Conflict):
    """The first request with this key has not finished yet: retrying now would run it twice."""

    code = "idempotency_key_in_flight"
    title = "Idempotency key in flight"
    default_detail = "A request with this Idempotency-Key is still being processed; retry after it finishes."


class IdempotencyKeyReused(FieldInvalid):
    """The key was already used for a different request (another body, method or path)."""

    code = "idempotency_key_reused"
    title = "Idempotency key reused"
    default_detail = "This Idempotency-Key was already used with a different request; use a new key."

    def __init__(self) -> None:
        super().__init__(IDEMPOTENCY_KEY_HEADER.lower(), self.default_detail, error_type=self.code, location="header")


class InvalidAccountToken(BadRequest):
    """A one-time e-mail token that cannot be used: unknown, used, expired, for another purpose or outdated.

    One answer for every reason, so probing learns nothing about which tokens exist.
    """

    code = "invalid_token"
    title = "Invalid token"
    default_detail = "The link is invalid or has expired; ask for a new one."


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"
    title = "E-mail not verified"
    default_detail = "Verify your e-mail address first: follow the link we sent, or ask for a new one."


class EmailAlreadyVerified(Conflict):
    code = "email_already_verified"
    title = "E-mail already verified"
    default_detail = "This account's e-mail address is verified already."


# Statuses the web framework itself produces (routing, body limit), mapped onto
# the same catalogue so every error a client can see has one documented type.
ERRORS_BY_STATUS: Mapping[int, type[AppError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        AuthenticationFailed,
        PermissionDenied,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        RequestHeaderFieldsTooLarge,
        ValidationFailed,
        RateLimited,
        AppError,
        ServiceUnavailable,
    )
}
