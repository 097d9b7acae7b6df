"""Problem Details (RFC 9457): the one body every error response carries."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _ProblemBase(BaseModel):
    # Extension members (e.g. `error` on token errors, `checks` on readiness) are allowed.
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Absolute URI of the problem type; docs/errors.md explains each one.")
    title: str = Field(description="Short summary, stable for a given type.")
    status: int = Field(description="The HTTP status code.")
    instance: str = Field(description="The path of the request that failed.")
    code: str = Field(description="Stable machine-readable error code.")
    request_id: str = Field(description="The request id, also sent as X-Request-ID.")
    trace_id: str | None = Field(
        default=None, description="The W3C trace id of this request, present only when tracing is on."
    )


class ProblemDetails(_ProblemBase):
    detail: str = Field(description="What went wrong in this occurrence.")


class ValidationErrorItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    loc: list[str | int]
    msg: str
    input: Any = None


class ValidationProblemDetails(_ProblemBase):
    detail: list[ValidationErrorItem] = Field(
        description="FastAPI's per-field error list; values of secret fields are never echoed."
    )
