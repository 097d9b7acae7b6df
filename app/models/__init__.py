"""ORM models. Importing this package registers every table on `Base.metadata`."""

from app.db.base import Base
from app.models.account_token import AccountToken
from app.models.idempotency_key import IdempotencyKey
from app.models.outbox import JobOutbox
from app.models.personal_access_token import PersonalAccessToken
from app.models.post import Post
from app.models.refresh_token import RefreshToken
from app.models.user import User
from app.models.webhook import Webhook, WebhookDelivery

__all__ = [
    "AccountToken",
    "Base",
    "IdempotencyKey",
    "JobOutbox",
    "PersonalAccessToken",
    "Post",
    "RefreshToken",
    "User",
    "Webhook",
    "WebhookDelivery",
]
