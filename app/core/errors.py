"""The domain error hierarchy.

Services raise these; the API layer turns every one into Problem Details
(RFC 9457). Each class fixes an HTTP status, a stable machine-readable `code`
and a stable `title`; the instance carries only the human `detail`. Nothing here
imports the web framework, so services and jobs can raise them freely.
"""

from __future__ import annotations

from collections.abc import Mapping
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


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"
    default_detail = "The request body exceeds the size this service accepts."


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
    """A value that is well-formed but refused by a business rule; rendered like a schema error."""

    def __init__(self, field: str, message: str, *, error_type: str) -> None:
        super().__init__(message)
        self.field = field
        self.error_type = error_type


# --- identity --------------------------------------------------------------------------


class EmailTaken(Conflict):
    code = "email_taken"
    title = "E-mail already registered"
    default_detail = "An account with this e-mail address already exists."


class InvalidGrant(BadRequest):
    """RFC 6749 §5.2 `invalid_grant`: bad credentials or an unusable refresh token."""

    code = "invalid_grant"
    title = "Invalid grant"
    default_detail = "The credentials or refresh token are invalid, expired or revoked."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extensions={"error": "invalid_grant"})


class RefreshTokenReplayed(InvalidGrant):
    """A rotated refresh token came back: its family is revoked, and that revocation must stick."""

    keep_changes = True


class InvalidScope(BadRequest):
    """RFC 6749 §5.2 `invalid_scope`: a scope the account does not hold was asked for."""

    code = "invalid_scope"
    title = "Invalid scope"
    default_detail = "The requested scope exceeds the scopes granted to this account."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extensions={"error": "invalid_scope"})


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
        PayloadTooLarge,
        ValidationFailed,
        RateLimited,
        AppError,
        ServiceUnavailable,
    )
}
