"""Personal access tokens: long-lived bearer tokens a user makes for scripts and tools."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.api.deps import DbSession, NoStore, SettingsDep
from app.api.problems import problem_responses
from app.api.security import CurrentUser, SignedInPrincipal
from app.models.personal_access_token import PersonalAccessToken
from app.schemas.page import Page, PageQuery
from app.schemas.personal_access_tokens import (
    PersonalAccessTokenCreate,
    PersonalAccessTokenCreated,
    PersonalAccessTokenRead,
)
from app.services import personal_access_tokens as personal_access_tokens_service

router = APIRouter(prefix="/users/me/tokens", tags=["users"])


async def valid_owned_token_id(
    token_id: uuid.UUID, principal: SignedInPrincipal, session: DbSession
) -> PersonalAccessToken:
    """The caller's token, or 404: someone else's is indistinguishable from none."""
    return await personal_access_tokens_service.get_owned(session, token_id, principal.user.id)


OwnedToken = Annotated[PersonalAccessToken, Depends(valid_owned_token_id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a personal access token",
    description="A bearer token for scripts, with at most the scopes the caller holds. The response carries "
    "the token; it is never shown again. It stops working when it expires, when it is deleted, and while "
    "the account is deactivated; scopes later taken from the account stop working for it too. "
    "Needs a signed-in session: a personal access token cannot create another.",
    responses=problem_responses(401, 403, 422),
    # The body holds the token: no cache may keep it.
    dependencies=[NoStore],
)
async def create_token(
    body: PersonalAccessTokenCreate, principal: SignedInPrincipal, session: DbSession, settings: SettingsDep
) -> PersonalAccessTokenCreated:
    created = await personal_access_tokens_service.create(session, principal, body, service_name=settings.app.name)
    read = PersonalAccessTokenRead.model_validate(created.row)
    return PersonalAccessTokenCreated(**read.model_dump(), token=created.token)


@router.get(
    "",
    summary="List my personal access tokens",
    description="The caller's tokens, newest first, a keyset page at a time, with when each was last used. "
    "The tokens themselves are not included.",
    responses=problem_responses(401, 422),
)
async def list_tokens(
    query: Annotated[PageQuery, Query()], user: CurrentUser, session: DbSession
) -> Page[PersonalAccessTokenRead]:
    page = await personal_access_tokens_service.list_owned(session, user.id, query)
    items = [PersonalAccessTokenRead.model_validate(token) for token in page.rows]
    return Page[PersonalAccessTokenRead](items=items, next_cursor=page.next_cursor, limit=query.limit)


@router.delete(
    "/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a personal access token",
    description="The token stops working at once. Needs a signed-in session.",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_token(token: OwnedToken, session: DbSession) -> None:
    await personal_access_tokens_service.revoke(session, token)
