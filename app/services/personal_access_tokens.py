"""Personal access tokens: made by their owner, accepted as bearer tokens, never wider than the owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis.exceptions
import structlog
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import FieldInvalid, InvalidAccessToken, NotFound
from app.core.throttle import first_in_window
from app.core.tokens import digest, new_personal_access_token
from app.db.session import unit_of_work
from app.models.personal_access_token import PersonalAccessToken
from app.models.user import User
from app.repositories import personal_access_tokens as tokens_repository
from app.repositories import users as users_repository
from app.schemas.page import KeysetPage, PageQuery
from app.schemas.personal_access_tokens import PersonalAccessTokenCreate
from app.services import auth as auth_service

logger = structlog.get_logger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CreatedToken:
    row: PersonalAccessToken
    token: str


async def create(
    session: AsyncSession, principal: auth_service.Principal, data: PersonalAccessTokenCreate, *, service_name: str
) -> CreatedToken:
    """A new token with at most the scopes the caller may use right now."""
    not_held = set(data.scopes) - principal.scopes
    if not_held:
        raise FieldInvalid(
            "scopes", f"Not held by the caller: {' '.join(sorted(not_held))}.", error_type="scope_not_held"
        )
    token = new_personal_access_token(service_name)
    row = await tokens_repository.add(
        session,
        PersonalAccessToken(
            user_id=principal.user.id,
            name=data.name,
            token_hash=digest(token),
            scopes=[str(scope) for scope in data.scopes],
            expires_at=datetime.now(UTC) + timedelta(days=data.expires_in_days),
        ),
    )
    return CreatedToken(row=row, token=token)


async def list_owned(session: AsyncSession, user_id: uuid.UUID, query: PageQuery) -> KeysetPage[PersonalAccessToken]:
    return await tokens_repository.list_owned_page(session, user_id, after=query.cursor, limit=query.limit)


async def get_owned(session: AsyncSession, token_id: uuid.UUID, user_id: uuid.UUID) -> PersonalAccessToken:
    token = await tokens_repository.get_owned(session, token_id, user_id)
    if token is None:
        raise NotFound("No personal access token with this id.")
    return token


async def revoke(session: AsyncSession, token: PersonalAccessToken) -> None:
    await tokens_repository.delete_token(session, token)


async def resolve(session: AsyncSession, token: str) -> auth_service.Principal:
    """The live owner of a personal access token.

    Every failure is the same InvalidAccessToken: RFC 6750 `invalid_token`, as for a JWT.
    """
    stored = await tokens_repository.get_by_hash(session, digest(token))
    if stored is None or stored.expires_at <= datetime.now(UTC):
        raise InvalidAccessToken
    user: User | None = await users_repository.get(session, stored.user_id)
    if user is None or not user.is_active:
        raise InvalidAccessToken
    # Scopes taken from the owner since the token was made stop working at once.
    return auth_service.Principal(
        user=user, scopes=frozenset(stored.scopes) & frozenset(user.scopes), personal_access_token_id=stored.id
    )


async def record_use(
    session_factory: async_sessionmaker[AsyncSession], redis_client: Redis, token_id: uuid.UUID
) -> None:
    """Stamp `last_used_at`, at most once a minute per token, in a transaction of its own.

    Runs after the response (a background task): the request that used the token may be a
    read without a transaction, and a lost stamp costs nothing. Redis turns away all but the
    first use per minute before the database is asked; the UPDATE's own condition keeps the
    rule when Redis is empty or down.
    """
    try:
        if not await first_in_window(
            redis_client, scope="pat-used", key=str(token_id), window_seconds=int(LAST_USED_RESOLUTION.total_seconds())
        ):
            return
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        logger.warning("throttle unavailable; stamping last use anyway", error=repr(exc))
    try:
        async with unit_of_work(session_factory) as session:
            await tokens_repository.record_use(session, token_id, datetime.now(UTC), at_most_every=LAST_USED_RESOLUTION)
    except (SQLAlchemyError, OSError) as exc:
        logger.warning("could not record a personal access token's use", token_id=str(token_id), error=repr(exc))
