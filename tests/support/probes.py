"""Routes that exist only in tests, to drive the error and transaction pipelines from outside.

They are mounted on an app of their own (`probe_app`), so the real app's
OpenAPI document stays exactly what clients see.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import column, insert, table, text

from app.api.deps import DbSession, ResourcesDep, SettingsDep
from app.api.problems import problem_responses
from app.core.errors import Conflict
from app.core.security import hash_password
from app.models.post import Post
from app.schemas.base import QuerySchema, RequestSchema

router = APIRouter(prefix="/probe", tags=["probe"])
PROBE_TABLE = "txn_probe"


class Credentials(RequestSchema):
    email: Annotated[str, Field(min_length=3)]
    password: Annotated[str, Field(min_length=12)]
    age: int | None = None


class Paging(QuerySchema):
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class Echo(RequestSchema):
    email: str
    age: int | None


class Written(RequestSchema):
    rows: int


@router.post("/validate", summary="Validate", description="Echo a valid body.", responses=problem_responses(422))
async def validate(body: Credentials) -> Echo:
    return Echo(email=body.email, age=body.age)


@router.get("/query", summary="Query", description="Echo query parameters.", responses=problem_responses(422))
async def query(paging: Annotated[Paging, Query()]) -> Written:
    return Written(rows=paging.limit)


@router.post("/boom", summary="Boom", description="Raise an unexpected error.", responses=problem_responses(500))
async def boom() -> Written:
    raise RuntimeError("secret internals: password=hunter2")


@router.post("/conflict", summary="Conflict", description="Raise a domain error.", responses=problem_responses(409))
async def conflict() -> Written:
    raise Conflict("That name is taken.")


@router.post("/sleep", summary="Sleep", description="Run a slow statement.", responses=problem_responses(503))
async def sleep(session: DbSession) -> Written:
    await session.execute(text("SELECT pg_sleep(2)"))
    return Written(rows=0)


@router.get(
    "/write",
    summary="Write on a GET",
    description="Try to insert a row in a safe request, whose session is read-only.",
    responses=problem_responses(500),
)
async def write_on_get(session: DbSession, ref: int) -> Written:
    await session.execute(insert(table(PROBE_TABLE, column("ref"))).values(ref=ref))
    return Written(rows=1)


@router.post(
    "/write", summary="Write", description="Insert rows, then fail as asked.", responses=problem_responses(500)
)
async def write(session: DbSession, refs: Annotated[list[int], Query()], fail: str = "no") -> Written:
    for ref in refs:
        await session.execute(text(f"INSERT INTO {PROBE_TABLE} (ref) VALUES (:ref)"), {"ref": ref})  # noqa: S608
    await session.flush()
    if fail == "domain":
        raise Conflict("Rolled back.")
    if fail == "unexpected":
        raise RuntimeError("mid-request failure")
    return Written(rows=len(refs))


@router.post(
    "/stale-write",
    summary="Stale write",
    description="Change a post read without a lock, after another connection changed it: the lost update "
    "that the row version refuses.",
    responses=problem_responses(409, 422),
)
async def stale_write(session: DbSession, resources: ResourcesDep, post_id: uuid.UUID) -> Written:
    post = await session.get(Post, post_id)  # no FOR UPDATE: the mistake this probe makes on purpose
    assert post is not None
    async with resources.engine.begin() as other:
        await other.execute(text("UPDATE post SET title = 'changed meanwhile' WHERE id = :id"), {"id": post_id})
    post.title = "changed on an outdated copy"
    return Written(rows=1)  # the commit, after this returns, is where the stale write is caught


class Secrets(RequestSchema):
    email: str
    password: str


_INSERT_USER = text(
    'INSERT INTO "user" (id, email, name, password_hash, scopes, is_active, credentials_version)'
    " VALUES (gen_random_uuid(), :email, :name, :password_hash, '{}', true, 1)"
)


@router.post(
    "/store-twice",
    summary="Unique violation",
    description="Store an account with the password's hash twice: the second insert violates uniqueness.",
    responses=problem_responses(409),
)
async def store_twice(body: Secrets, session: DbSession, settings: SettingsDep) -> Written:
    values = {"email": body.email, "name": "x", "password_hash": await hash_password(body.password, settings.auth)}
    for _ in range(2):
        await session.execute(_INSERT_USER, values)
    return Written(rows=2)


@router.post(
    "/store-unstorable",
    summary="Data error",
    description="Store an account whose name PostgreSQL refuses (a NUL), the password's hash beside it.",
    responses=problem_responses(422),
)
async def store_unstorable(body: Secrets, session: DbSession, settings: SettingsDep) -> Written:
    values = {"email": body.email, "name": "x\x00", "password_hash": await hash_password(body.password, settings.auth)}
    await session.execute(_INSERT_USER, values)
    return Written(rows=1)
