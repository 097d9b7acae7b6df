"""The ceiling: the service's three hot reads on raw Starlette + an asyncpg pool + orjson.

    DATABASE_URL=postgresql://postgres@localhost:5432/service_bench AUTH_JWT_SECRET=... \
        uv run uvicorn bench.ceiling.app:app --loop uvloop --http httptools --no-access-log

No validation layer, no ORM, no middleware, no logging: what the same reads cost
when nothing but the database driver and the JSON encoder stands in the way.
`bench/load.py` starts it next to the service and reports the service's rate as a
fraction of this one. Same SQL, same JWT checks, same response bodies.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = os.environ["AUTH_JWT_SECRET"]
ISSUER = os.environ.get("AUTH_JWT_ISSUER", "service")
AUDIENCE = os.environ.get("AUTH_JWT_AUDIENCE", "service-api")
REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud", "jti", "scope", "ver"]
DATABASE_URL = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
POOL_SIZE = int(os.environ.get("CEILING_POOL_SIZE", "10"))

USER_SQL = (
    'SELECT id, email, name, is_active, scopes, created_at, updated_at, credentials_version FROM "user" WHERE id = $1'
)
POST_SQL = "SELECT id, author_id, title, body, status, published_at, created_at, updated_at FROM post WHERE id = $1"
FIRST_PAGE_SQL = (
    "SELECT id, author_id, title, body, status, published_at, created_at, updated_at FROM post "
    "WHERE status = 'published' ORDER BY created_at DESC, id DESC LIMIT $1"
)
NEXT_PAGE_SQL = (
    "SELECT id, author_id, title, body, status, published_at, created_at, updated_at FROM post "
    "WHERE status = 'published' AND (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT $3"
)


class State:
    pool: asyncpg.Pool


state = State()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json")


def problem(status: int, detail: str) -> Response:
    return Response(
        orjson.dumps({"status": status, "detail": detail}), status_code=status, media_type="application/problem+json"
    )


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), row_id.hex], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str) -> tuple[datetime, uuid.UUID]:
    created_at, row_id = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return datetime.fromisoformat(created_at), uuid.UUID(hex=row_id)


async def users_me(request: Request) -> Response:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return problem(401, "Not authenticated.")
    try:
        claims = jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=5,
            options={"require": REQUIRED_CLAIMS},
        )
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, ValueError):
        return problem(401, "Not authenticated.")
    row = await state.pool.fetchrow(USER_SQL, user_id)
    if row is None or not row["is_active"] or row["credentials_version"] != claims["ver"]:
        return problem(401, "Not authenticated.")
    user = dict(row)
    del user["credentials_version"]
    return json_response(user)


async def read_post(request: Request) -> Response:
    try:
        post_id = uuid.UUID(request.path_params["post_id"])
    except ValueError:
        return problem(422, "Not a UUID.")
    row = await state.pool.fetchrow(POST_SQL, post_id)
    if row is None or row["status"] != "published":
        return problem(404, "No post with this id.")
    return json_response(dict(row))


async def list_posts(request: Request) -> Response:
    limit = int(request.query_params.get("limit", "20"))
    if not 1 <= limit <= 100:
        return problem(422, "limit must be 1..100.")
    cursor = request.query_params.get("cursor")
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        rows = await state.pool.fetch(NEXT_PAGE_SQL, created_at, row_id, limit + 1)
    else:
        rows = await state.pool.fetch(FIRST_PAGE_SQL, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return json_response({"items": [dict(row) for row in rows[:limit]], "next_cursor": next_cursor, "limit": limit})


async def live(_: Request) -> Response:
    return json_response({"status": "ok"})


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    state.pool = await asyncpg.create_pool(DATABASE_URL, min_size=POOL_SIZE, max_size=POOL_SIZE)
    try:
        yield
    finally:
        await state.pool.close()


app = Starlette(
    routes=[
        Route("/health/live", live),
        Route("/v1/users/me", users_me),
        Route("/v1/posts", list_posts),
        Route("/v1/posts/{post_id}", read_post),
    ],
    lifespan=lifespan,
)
