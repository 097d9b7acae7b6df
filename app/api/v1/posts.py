"""Posts: anyone reads what is published; authors write, publish and export their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.api.deps import DbSession
from app.api.openapi import links_from_created
from app.api.problems import problem_responses
from app.api.security import CurrentUser, OptionalUser, require_scope
from app.api.sse import event_stream_response
from app.core.scopes import Scope
from app.models.post import Post
from app.schemas.page import Page
from app.schemas.posts import (
    PostCreate,
    PostExportComplete,
    PostExportFailed,
    PostExportProgress,
    PostExportQuery,
    PostListQuery,
    PostRead,
    PostUpdate,
)
from app.services import post_exports as post_exports_service
from app.services import posts as posts_service

router = APIRouter(prefix="/posts", tags=["posts"])


async def valid_post_id(post_id: uuid.UUID, session: DbSession, viewer: OptionalUser) -> Post:
    """The post named in the path, or 404; someone else's draft is 404 too."""
    return await posts_service.get_visible(session, post_id, viewer)


PostByPath = Annotated[Post, Depends(valid_post_id)]


async def valid_owned_post(post: PostByPath, user: CurrentUser) -> Post:
    """The post named in the path when the caller wrote it; 404, not 403, otherwise (docs/decisions/0005)."""
    return posts_service.ensure_author(post, user)


OwnedPost = Annotated[Post, Depends(valid_owned_post)]


async def read_own_posts(user: CurrentUser, session: DbSession) -> list[PostRead]:
    """The caller's posts for an export, read here while the request's session is still open.

    `DbSession` commits and returns its connection as soon as the endpoint function returns,
    and a streaming endpoint returns before its stream starts: the stream must not touch it.
    """
    return [PostRead.model_validate(post) for post in await posts_service.list_for_export(session, user)]


async def open_export(
    posts: Annotated[list[PostRead], Depends(read_own_posts)],
) -> AsyncIterator[post_exports_service.PostExport]:
    """The export behind one stream; its thread is stopped and awaited when the request ends.

    Request scope, so this exit runs after the response, however it ended. The endpoint's
    generator cannot own the thread: when a client disconnects, FastAPI stops reading the
    generator at its last `yield` and never closes it.
    """
    export = post_exports_service.PostExport(posts)
    try:
        yield export
    finally:
        await export.close()


PostExportDep = Annotated[post_exports_service.PostExport, Depends(open_export, scope="request")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a post",
    description="Write a post as the caller. It starts as a draft unless `status` is `published`; "
    "publishing emits the `post.published` webhook event.",
    responses={
        201: links_from_created("post_id", "posts-read_post", "posts-update_post", "posts-delete_post"),
        **problem_responses(401, 403, 422),
    },
    dependencies=[require_scope(Scope.POSTS_WRITE)],
)
async def create_post(body: PostCreate, user: CurrentUser, session: DbSession) -> PostRead:
    return PostRead.model_validate(await posts_service.create(session, user, body))


@router.get(
    "",
    summary="List published posts",
    description="Published posts, newest first, a keyset page at a time. `author_id` keeps one author's posts; "
    "`q` matches part of the title or body. Drafts never appear here.",
    responses=problem_responses(422),
)
async def list_posts(query: Annotated[PostListQuery, Query()], session: DbSession) -> Page[PostRead]:
    page = await posts_service.list_published(session, query)
    items = [PostRead.model_validate(post) for post in page.rows]
    return Page[PostRead](items=items, next_cursor=page.next_cursor, limit=query.limit)


# Registered before "/{post_id}", which would otherwise read "export" as an id.
@router.get(
    "/export",
    response_class=EventSourceResponse,
    summary="Export my posts",
    description="Render all of the caller's posts, drafts included, as CSV or NDJSON, streamed as "
    "Server-Sent Events: `progress` events while rendering, then one `complete` event carrying the "
    "file, or one `error` event.",
    responses={
        status.HTTP_200_OK: event_stream_response(PostExportProgress, PostExportComplete, PostExportFailed),
        **problem_responses(401, 422),
    },
)
async def export_posts(
    query: Annotated[PostExportQuery, Query()], export: PostExportDep
) -> AsyncIterator[ServerSentEvent]:
    async for event in export.events(query.format):
        yield ServerSentEvent(event=event.event, data=event)


@router.get(
    "/{post_id}",
    summary="Read a post",
    description="One post by id. Anyone may read a published post; a draft only its author, "
    "and for anyone else it does not exist (404).",
    responses=problem_responses(401, 404, 422),
)
async def read_post(post: PostByPath) -> PostRead:
    return PostRead.model_validate(post)


@router.patch(
    "/{post_id}",
    summary="Update my post",
    description="Change the title, body or status of a post the caller wrote. Moving a draft to "
    "`published` emits the `post.published` webhook event. Someone else's post is 404.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require_scope(Scope.POSTS_WRITE)],
)
async def update_post(body: PostUpdate, post: OwnedPost, session: DbSession) -> PostRead:
    return PostRead.model_validate(await posts_service.update(session, post, body))


@router.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my post",
    description="Delete a post the caller wrote. Someone else's post is 404.",
    responses=problem_responses(401, 403, 404, 422),
    dependencies=[require_scope(Scope.POSTS_WRITE)],
)
async def delete_post(post: OwnedPost, session: DbSession) -> None:
    await posts_service.delete(session, post)
