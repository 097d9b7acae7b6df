"""Accounts: the caller's own (`/users/me`) and everyone's, for administrators."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.api.conditional import NOT_MODIFIED_RESPONSE, ResourceTags
from app.api.deps import DbSession, SettingsDep
from app.api.problems import problem_responses
from app.api.rate_limits import SelfUpdateBody
from app.api.routing import Route
from app.api.security import CurrentUser, get_current_user, require_scope
from app.core.scopes import Scope
from app.models.user import User
from app.schemas.exports import AccountExport
from app.schemas.page import Page
from app.schemas.users import UserListQuery, UserRead, UserUpdate
from app.services import account_export as account_export_service
from app.services import users as users_service

me_router = APIRouter(prefix="/users", tags=["users"], route_class=Route)
# Every route below needs `users:read`; writing adds `users:write` per route.
admin_router = APIRouter(
    prefix="/users", tags=["users"], route_class=Route, dependencies=[require_scope(Scope.USERS_READ)]
)
# Entity tags of accounts, for GET's 304 and the 412 of a stale If-Match (app/api/conditional.py).
user_tags = ResourceTags(UserRead)


async def valid_user_id(user_id: uuid.UUID, session: DbSession) -> User:
    """The user named in the path, or 404."""
    return await users_service.get(session, user_id)


async def valid_user_id_for_update(user_id: uuid.UUID, session: DbSession) -> User:
    """The user named in the path, locked until the request commits, or 404."""
    return await users_service.get_for_update(session, user_id)


async def current_user_for_update(user: CurrentUser, session: DbSession) -> User:
    """The caller's account, locked until the request commits and re-read as it is now."""
    return await users_service.get_for_update(session, user.id)


ReadableMe = Annotated[User, Depends(user_tags.for_read(get_current_user))]
WritableMe = Annotated[User, Depends(user_tags.for_write(current_user_for_update))]
ReadableUser = Annotated[User, Depends(user_tags.for_read(valid_user_id))]
WritableUser = Annotated[User, Depends(user_tags.for_write(valid_user_id_for_update))]


@me_router.get(
    "/me",
    summary="Read my account",
    description="The account behind the access token, with an `ETag`; send it back in `If-None-Match` "
    "to get 304 while it is current.",
    responses={**NOT_MODIFIED_RESPONSE, **problem_responses(401, 422)},
)
async def read_me(user: ReadableMe) -> UserRead:
    return UserRead.model_validate(user)


@me_router.patch(
    "/me",
    summary="Update my account",
    description="Change the name, the e-mail address or the password; the last two need `current_password`, "
    "whose checks share the account's sign-in attempt limit (429). A new address is unverified until its owner "
    "follows the link sent to it (409 `email_taken` if another account uses it). A new password signs out every "
    "session: all earlier access and refresh tokens stop working, and a notice goes to the account's address. "
    "With `If-Match`, only if the account is still at that ETag (else 412).",
    responses=problem_responses(401, 409, 412, 422, 429),
)
async def update_me(
    body: SelfUpdateBody, user: WritableMe, session: DbSession, settings: SettingsDep, response: Response
) -> UserRead:
    user = await users_service.update_self(session, user, body, settings.auth)
    user_tags.send(response, user)
    return UserRead.model_validate(user)


@me_router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my account",
    description="Deactivate the account at once (every token issued for it stops working) and erase it, with "
    "everything it owns, after the grace period (`AUTH_ACCOUNT_ERASURE_GRACE_DAYS`, 30 days by default). "
    "An administrator who re-activates the account within that time cancels the erasure. With `If-Match`, "
    "only if the account is still at that ETag (else 412).",
    responses=problem_responses(401, 412, 422),
)
async def delete_me(user: WritableMe, session: DbSession, settings: SettingsDep) -> None:
    await users_service.deactivate(session, user, settings.auth)


@me_router.get(
    "/me/export",
    summary="Export my data",
    description="Everything the service holds about the caller's account, in one JSON document: the account, "
    "every post (drafts included), webhooks and personal access tokens. Secrets are left out.",
    responses=problem_responses(401),
)
async def export_me(user: CurrentUser, session: DbSession) -> AccountExport:
    return await account_export_service.export(session, user)


@admin_router.get(
    "",
    summary="List users",
    description="All accounts, oldest first, a keyset page at a time. `q` matches part of the e-mail or name.",
    responses=problem_responses(401, 403, 422),
)
async def list_users(query: Annotated[UserListQuery, Query()], session: DbSession) -> Page[UserRead]:
    page = await users_service.list_users(session, query)
    items = [UserRead.model_validate(user) for user in page.rows]
    return Page[UserRead](items=items, next_cursor=page.next_cursor, limit=query.limit)


@admin_router.get(
    "/{user_id}",
    summary="Read a user",
    description="One account by id, with an `ETag`; send it back in `If-None-Match` to get 304 while it is current.",
    responses={**NOT_MODIFIED_RESPONSE, **problem_responses(401, 403, 404, 422)},
)
async def read_user(user: ReadableUser) -> UserRead:
    return UserRead.model_validate(user)


@admin_router.patch(
    "/{user_id}",
    summary="Update a user",
    description="Change an account's name, status or scopes. Deactivating it revokes every token it holds. "
    "With `If-Match`, only if the account is still at that ETag (else 412).",
    responses=problem_responses(401, 403, 404, 412, 422),
    dependencies=[require_scope(Scope.USERS_WRITE)],
)
async def update_user(body: UserUpdate, user: WritableUser, session: DbSession, response: Response) -> UserRead:
    user = await users_service.update(session, user, body)
    user_tags.send(response, user)
    return UserRead.model_validate(user)


router = APIRouter()
router.include_router(me_router)  # first: "/users/me" must not be read as "/users/{user_id}"
router.include_router(admin_router)
