"""Search cannot exhaust the service: an index serves it, readiness ignores a busy pool, anonymous reads are limited."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Rate, RateLimitSettings, Settings
from app.repositories import posts as posts_repository
from app.resources import Resources
from tests.support.factories import bearer, create_post, create_user
from tests.support.overrides import override_settings
from tests.support.problems import assert_problem


async def test_a_contains_search_is_served_by_the_trigram_indexes(db_session: AsyncSession) -> None:
    # 20,000 published posts, the scale of the load that exhausted the pool.
    await db_session.execute(
        text(
            'INSERT INTO "user" (id, email, name, password_hash) VALUES'
            " ('00000000-0000-0000-0000-0000000000aa', 'search@example.com', 'S', 'x')"
        )
    )
    # In batches, each well inside the client's statement timeout even on a loaded machine.
    for first in range(1, 20_001, 2_500):
        await db_session.execute(
            text(
                "INSERT INTO post (id, author_id, title, body, status)"
                " SELECT gen_random_uuid(), '00000000-0000-0000-0000-0000000000aa', 'title ' || n,"
                " repeat(md5(n::text), 8), 'published' FROM generate_series(:first, :first + 2499) AS n"
            ),
            {"first": first},
        )
    await db_session.execute(text("ANALYZE post"))
    query = posts_repository.published(q="needle in the haystack")
    sql = str(query.compile(dialect=asyncpg.dialect(), compile_kwargs={"literal_binds": True}))
    # Statistics of a fresh table are rough: leave the sequential scan out and ask which index serves.
    await db_session.execute(text("SET LOCAL enable_seqscan = off"))
    connection = await db_session.connection()
    plan = "\n".join(row[0] for row in await connection.exec_driver_sql(f"EXPLAIN {sql}"))
    await db_session.rollback()
    assert "ix_post_title_trgm" in plan, plan
    assert "ix_post_body_trgm" in plan, plan


async def test_readiness_stays_ready_while_the_pool_is_busy(client: httpx.AsyncClient, resources: Resources) -> None:
    pool = resources.settings.database
    async with AsyncExitStack() as held:
        # Every pooled connection is checked out, as under a burst of slow searches.
        for _ in range(pool.pool_size + pool.max_overflow):
            await held.enter_async_context(resources.engine.connect())
        async with asyncio.timeout(pool.health_timeout_seconds * 3):
            response = await client.get("/health/ready")
    assert response.status_code == 200, response.text


def anonymous_reads(rate: str) -> RateLimitSettings:
    return RateLimitSettings(_env_file=None, anonymous_read=Rate.model_validate(rate))


async def test_anonymous_reads_are_limited_per_address(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    override_settings(app, settings, rate_limit=anonymous_reads("3/minute"))
    author = await create_user(db_session, settings)
    post = await create_post(db_session, author.user, status="published")
    statuses = [(await client.get("/v1/posts", params={"q": "words"})).status_code for _ in range(2)]
    statuses.append((await client.get(f"/v1/posts/{post.id}")).status_code)
    assert statuses == [200, 200, 200]
    response = await client.get("/v1/posts", params={"q": "words"})
    assert_problem(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1
    # Signed-in readers are not counted here, and other addresses have their own budget.
    signed_in = await client.get("/v1/posts", headers=bearer(author.user, settings))
    assert signed_in.status_code == 200
    transport = httpx.ASGITransport(app=app, client=("192.0.2.50", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        assert (await elsewhere.get("/v1/posts")).status_code == 200
