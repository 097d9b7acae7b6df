"""The caller's own data, in one document (`GET /v1/users/me/export`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.base import UtcDatetime
from app.schemas.personal_access_tokens import PersonalAccessTokenRead
from app.schemas.posts import PostRead
from app.schemas.users import UserRead
from app.schemas.webhooks import WebhookRead


class AccountExport(BaseModel):
    """Everything the service holds about one account, except secrets (hashes, signing secrets, tokens)."""

    exported_at: UtcDatetime
    account: UserRead
    posts: list[PostRead] = Field(description="Every post, drafts included, oldest first.")
    webhooks: list[WebhookRead] = Field(description="Without their signing secrets.")
    personal_access_tokens: list[PersonalAccessTokenRead] = Field(description="Without the tokens themselves.")
