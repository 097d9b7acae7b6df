"""Posts: anyone reads what is published; authors write, publish and export their own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.api import export_slots
from app.api.conditional import NOT_MODIFIED_RESPONSE, ResourceTags
from app.api.deps import DbSession, ResourcesDep, SettingsDep
from app.api.idempotency import Idempotent
from app.api.openapi import links_from_created
from app.api.problems import problem_responses
from app.api.rate_limits import AnonymousReadRateLimit
from app.api.routing import Route
from app.api.security import CurrentUser, OptionalUser, require_scope
from app.api.sse import event_stream_response
from app.core.scopes import Scope
from app.models.post import Post
from app.schemas.page import KeysetCursor, Page
from app.schemas.posts import (
    PostCreate,
    PostExportComplete,
    PostExportFailed,
    PostExportProgress,
    PostExportQuery,
    PostExportRows,
    PostListQuery,
    PostRead,
    PostUpdate,
)
from app.services import post_exports as post_exports_service
from app.services import posts as posts_service

router = APIRouter(prefix="/posts", tags=["posts"], route_class=Route)
# Entity tags of posts: the row's version, for GET's 304 and the 412 of a stale If-Match (app/api/conditional.py).
post_tags = ResourceTags(PostRead)


async def valid_post_id(post_id: uuid.UUID, session: DbSession, viewer: OptionalUser) -> Post:
    """The post named in the path, or 404; someone else's draft is 404 too."""
    return await posts_service.get_visible(session, post_id, viewer)


async def valid_own_post_for_update(post_id: uuid.UUID, user: CurrentUser, session: DbSession) -> Post:
    """The caller's post named in the path, locked until the request commits; 404, not 403, for
    anyone else's (docs/decisions/0005). Concurrent writes to one post therefore run one at a time."""
    return await posts_service.get_own_for_update(session, post_id, user)


# A GET answers 304 when If-None-Match names the current ETag; a write checks If-Match on the locked row.
ReadablePost = Annotated[Post, Depends(post_tags.for_read(valid_post_id))]
WritablePost = Annotated[Post, Depends(post_tags.for_write(valid_own_post_for_update))]


async def read_export_source(
    user: CurrentUser, session: DbSession, resources: ResourcesDep, settings: SettingsDep
) -> post_exports_service.ExportSource:
    """Where the caller's export reads from: a count now, then batches in sessions of their own.

    `DbSession` returns its connection as soon as the endpoint function returns, and a
    streaming endpoint returns before its stream starts: the stream must not touch it.
    """
    total = await posts_service.count_for_export(session, user)
    return post_exports_service.source_for(
        resources.session_factory, resources.engine, user.id, total, batch_size=settings.exports.batch_size
    )


async def open_export(
    source: Annotated[post_exports_service.ExportSource, Depends(read_export_source)],
    user: CurrentUser,
    resources: ResourcesDep,
    settings: SettingsDep,
) -> AsyncIterator[post_exports_service.PostExport]:
    """The export behind one stream, within the caller's concurrent-export limit; its thread is
    stopped and awaited, and its slot given back, when the request ends.

    Request scope, so this exit runs after the response, however it ended. The endpoint's
    generator cannot own the thread: when a client disconnects, FastAPI stops reading the
    generator at its last `yield` and never closes it.
    """
    async with export_slots.export_slot(
        resources.redis, user.id, settings.exports, key_prefix=settings.redis_key_prefix
    ) as keep_alive:

        async def read_batch(after: KeysetCursor | None) -> Sequence[PostRead]:
            await keep_alive()  # a long export renews its slot's lease as it goes
            return await source.read_batch(after)

        export = post_exports_service.PostExport(post_exports_service.ExportSource(source.total, read_batch))
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
    "publishing emits the `post.published` webhook event. Send an `Idempotency-Key` to retry safely: "
    "a repeat gets the first response back and creates nothing.",
    responses={
        201: links_from_created("post_id", "posts-read_post", "posts-update_post", "posts-delete_post"),
        **problem_responses(401, 403, 409, 422),
    },
    dependencies=[require_scope(Scope.POSTS_WRITE), Idempotent],
)
async def create_post(
    body: PostCreate, user: CurrentUser, session: DbSession, request: Request, response: Response
) -> PostRead:
    post = await posts_service.create(session, user, body)
    response.headers["Location"] = request.url_for("read_post", post_id=post.id).path
    post_tags.send(response, post)
    return PostRead.model_validate(post)


@router.get(
    "",
    summary="List published posts",
    description="Published posts, newest first, a keyset page at a time. `author_id` keeps one author's posts; "
    "`q` matches part of the title or body. Drafts never appear here. Without a token, reads are "
    "limited per client address (429).",
    responses=problem_responses(422, 429),
    dependencies=[AnonymousReadRateLimit],
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
    "Server-Sent Events: `progress` events while rendering, the file in order as `rows` events (the "
    "file is their `content` joined), then one `complete` event, or one `error` event. An account runs "
    "at most `EXPORTS_MAX_CONCURRENT_PER_USER` exports at once (2 by default): one more is 429 "
    "`too_many_exports` with `Retry-After`.",
    responses={
        status.HTTP_200_OK: event_stream_response(
            PostExportProgress, PostExportRows, PostExportComplete, PostExportFailed
        ),
        **problem_responses(401, 422, 429),
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
    "and for anyone else it does not exist (404). The `ETag` changes with every change to the post; "
    "send it back in `If-None-Match` to get 304 while it is current. Without a token, reads are limited "
    "per client address (429).",
    responses={**NOT_MODIFIED_RESPONSE, **problem_responses(401, 404, 422, 429)},
    dependencies=[AnonymousReadRateLimit],
)
async def read_post(post: ReadablePost) -> PostRead:
    return PostRead.model_validate(post)


@router.patch(
    "/{post_id}",
    summary="Update my post",
    description="Change the title, body or status of a post the caller wrote. Moving a draft to "
    "`published` emits the `post.published` webhook event, once however many requests race to do it. "
    "With `If-Match`, the change is made only if the post is still at that ETag (else 412). "
    "Someone else's post is 404.",
    responses=problem_responses(401, 403, 404, 412, 422),
    dependencies=[require_scope(Scope.POSTS_WRITE)],
)
async def update_post(body: PostUpdate, post: WritablePost, session: DbSession, response: Response) -> PostRead:
    post = await posts_service.update(session, post, body)
    post_tags.send(response, post)
    return PostRead.model_validate(post)


@router.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my post",
    description="Delete a post the caller wrote. With `If-Match`, only if the post is still at that ETag "
    "(else 412). Someone else's post is 404.",
    responses=problem_responses(401, 403, 404, 412, 422),
    dependencies=[require_scope(Scope.POSTS_WRITE)],
)
async def delete_post(post: WritablePost, session: DbSession) -> None:
    await posts_service.delete(session, post)
