"""ORM models. Importing this package registers every table on `Base.metadata`."""

from app.db.base import Base
from app.models.outbox import JobOutbox
from app.models.refresh_token import RefreshToken
from app.models.user import User

__all__ = ["Base", "JobOutbox", "RefreshToken", "User"]
