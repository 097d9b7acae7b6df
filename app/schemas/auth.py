"""Token endpoint shapes (RFC 6749 §5.1 for the success body)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.base import RequestSchema


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    scope: str = Field(description="The granted scopes, space-separated.")


class RefreshTokenBody(RequestSchema):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]
