"""One request, one transaction, committed before the response is sent (DB-3, DB-1)."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.problems import assert_problem


async def _stored_refs(db_session: AsyncSession, table: str) -> list[int]:
    return list(await db_session.scalars(text(f"SELECT ref FROM {table} ORDER BY ref")))  # noqa: S608


async def test_successful_request_commits(
    probe_client: httpx.AsyncClient, probe_table: str, db_session: AsyncSession
) -> None:
    response = await probe_client.post("/probe/write", params={"refs": [1, 2]})
    assert response.status_code == 200
    assert await _stored_refs(db_session, probe_table) == [1, 2]


async def test_unique_violation_at_commit_time_is_never_a_2xx(
    probe_client: httpx.AsyncClient, probe_table: str, db_session: AsyncSession
) -> None:
    # The constraint is deferred: the handler's flush succeeds and only COMMIT fails.
    response = await probe_client.post("/probe/write", params={"refs": [3, 3]})
    assert_problem(response, 409, "conflict")
    assert await _stored_refs(db_session, probe_table) == []


async def test_other_failure_at_commit_time_is_a_500(
    probe_client: httpx.AsyncClient, probe_table: str, db_session: AsyncSession
) -> None:
    response = await probe_client.post("/probe/write", params={"refs": [4, 99]})  # 99 has no parent row
    assert_problem(response, 500, "internal_error")
    assert await _stored_refs(db_session, probe_table) == []


async def test_domain_error_mid_request_leaves_nothing_behind(
    probe_client: httpx.AsyncClient, probe_table: str, db_session: AsyncSession
) -> None:
    response = await probe_client.post("/probe/write", params={"refs": [5], "fail": "domain"})
    assert_problem(response, 409, "conflict")
    assert await _stored_refs(db_session, probe_table) == []


async def test_unexpected_error_mid_request_leaves_nothing_behind(
    probe_client: httpx.AsyncClient, probe_table: str, db_session: AsyncSession
) -> None:
    response = await probe_client.post("/probe/write", params={"refs": [6], "fail": "unexpected"})
    assert_problem(response, 500, "internal_error")
    assert await _stored_refs(db_session, probe_table) == []


async def test_a_safe_request_cannot_write(
    probe_client: httpx.AsyncClient, probe_table: str, db_session: AsyncSession
) -> None:
    # GET runs on a read-only session in AUTOCOMMIT: a write would be committed at once, so it is refused.
    response = await probe_client.get("/probe/write", params={"ref": 5})
    assert_problem(response, 500, "internal_error")
    assert await _stored_refs(db_session, probe_table) == []
