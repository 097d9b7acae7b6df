"""Test data from polyfactory (TST-5): request bodies, and users and posts stored in the database."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from polyfactory import Use
from polyfactory.factories.pydantic_factory import ModelFactory
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.scopes import DEFAULT_USER_SCOPES
from app.core.security import create_access_token, hash_password
from app.models.post import Post
from app.models.user import User
from app.schemas.posts import PostCreate, PostStatus
from app.schemas.users import UserCreate

_sequence = itertools.count(1)


def unique_email() -> str:
    return f"person{next(_sequence)}@example.com"


class UserCreateFactory(ModelFactory[UserCreate]):
    email = Use(unique_email)
    name = Use(lambda: f"Person {next(_sequence)}")
    password = Use(lambda: f"correct-horse-{next(_sequence):06d}")


@dataclass(frozen=True)
class StoredUser:
    user: User
    password: str

    @property
    def email(self) -> str:
        return self.user.email


async def create_user(
    session: AsyncSession,
    settings: Settings,
    *,
    scopes: Sequence[str] = DEFAULT_USER_SCOPES,
    is_active: bool = True,
    verified: bool = True,
    **overrides: Any,
) -> StoredUser:
    """A user committed to the database, with the plain password kept for signing in.

    Verified by default, like most accounts in use; `verified=False` for an address never confirmed.
    """
    body = UserCreateFactory.build(**overrides)
    user = User(
        email=body.email,
        name=body.name,
        password_hash=await hash_password(body.password, settings.auth),
        scopes=list(scopes),
        is_active=is_active,
        email_verified_at=datetime.now(UTC) if verified else None,
    )
    session.add(user)
    await session.commit()
    return StoredUser(user=user, password=body.password)


def bearer(user: User, settings: Settings, scopes: Sequence[str] | None = None) -> dict[str, str]:
    """An Authorization header for `user`, minted directly: most tests are not about signing in."""
    token = create_access_token(
        user_id=user.id,
        scopes=frozenset(user.scopes if scopes is None else scopes),
        credentials_version=user.credentials_version,
        settings=settings,
    )
    return {"Authorization": f"Bearer {token.token}"}


class PostCreateFactory(ModelFactory[PostCreate]):
    title = Use(lambda: f"Post {next(_sequence)}")
    body = Use(lambda: f"Words worth reading, number {next(_sequence)}.")
    status = PostStatus.DRAFT


async def create_post(session: AsyncSession, author: User, **overrides: Any) -> Post:
    """A post by `author` committed to the database; a draft unless `status` says otherwise."""
    body = PostCreateFactory.build(**overrides)
    published = body.status is PostStatus.PUBLISHED
    post = Post(
        author_id=author.id,
        title=body.title,
        body=body.body,
        status=body.status,
        published_at=datetime.now(UTC) if published else None,
    )
    session.add(post)
    await session.commit()
    return post
