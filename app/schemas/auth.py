"""Token endpoint shapes (RFC 6749 §5.1 for the success body)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.base import FormSchema, RequestSchema


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    scope: str = Field(description="The granted scopes, space-separated.")


class RefreshTokenBody(RequestSchema):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class PasswordGrantForm(FormSchema):
    """The OAuth2 password grant (RFC 6749 §4.3.2), form-encoded. `username` is the e-mail."""

    grant_type: Annotated[Literal["password"] | None, Field(description="`password`, when sent.")] = None
    username: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=128, json_schema_extra={"format": "password"})]
    scope: Annotated[str, Field(max_length=1000, description="Space-separated scopes to narrow the grant.")] = ""
    client_id: Annotated[str | None, Field(max_length=200)] = None
    client_secret: Annotated[str | None, Field(max_length=200, json_schema_extra={"format": "password"})] = None
