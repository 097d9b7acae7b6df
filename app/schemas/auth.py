"""Token endpoint shapes: the form of RFC 6749 §4.3.2 and §6, and the success body of §5.1."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from app.schemas.base import FormSchema, Lax, RequestSchema


class GrantType(StrEnum):
    PASSWORD = "password"  # noqa: S105 - the OAuth2 grant type's name, not a secret
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - the OAuth2 grant type's name, not a secret


class TokenRequest(FormSchema):
    """`POST /v1/auth/token`, form-encoded. `grant_type` may be left out for the password grant.

    Without `grant_type` the form is read as a password grant, as FastAPI's own
    `OAuth2PasswordRequestForm` does; every standard client sends it anyway.
    """

    grant_type: Annotated[GrantType, Lax] = GrantType.PASSWORD
    username: Annotated[str, Field(min_length=1, max_length=320)] | None = Field(
        default=None, description="The account's e-mail address (password grant)."
    )
    password: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        default=None, description="The account's password (password grant).", json_schema_extra={"format": "password"}
    )
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="The refresh token to rotate (refresh_token grant)."
    )
    scope: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None,
        description="Space-separated scopes: narrows the grant; a scope not held is refused with invalid_scope.",
    )

    @model_validator(mode="after")
    def _grant_has_its_parameters(self) -> Self:
        required = {
            GrantType.PASSWORD: ("username", "password"),
            GrantType.REFRESH_TOKEN: ("refresh_token",),
        }[self.grant_type]
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"grant_type={self.grant_type} requires {' and '.join(missing)}")
        return self


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    scope: str = Field(description="The granted scopes, space-separated.")


class RefreshTokenBody(RequestSchema):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]
