"""POST /v1/auth/signup (SPEC §3 Auth; SCH-1, SCH-2, TST-7)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.outbox import JobOutbox
from app.models.user import User
from tests.support.factories import UserCreateFactory
from tests.support.problems import assert_problem

USER_FIELDS = {"id", "email", "name", "is_active", "email_verified", "scopes", "created_at", "updated_at"}


async def _user_count(db_session: AsyncSession) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(User)) or 0)


async def test_signup_creates_an_account(client: httpx.AsyncClient) -> None:
    body = UserCreateFactory.build().model_dump()
    response = await client.post("/v1/auth/signup", json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user["email"] == body["email"]
    assert user["is_active"] is True
    assert user["email_verified"] is False  # until the link in the welcome e-mail is followed
    assert user["scopes"] == ["posts:write"]
    assert user["created_at"].endswith("+00:00")
    assert body["password"] not in response.text
    assert "hash" not in response.text


async def test_email_is_unique_whatever_its_case(client: httpx.AsyncClient) -> None:
    body = UserCreateFactory.build(email="Mixed.Case@example.com").model_dump()
    assert (await client.post("/v1/auth/signup", json=body)).status_code == 201
    again = {**body, "email": "mixed.case@EXAMPLE.com"}
    problem = assert_problem(await client.post("/v1/auth/signup", json=again), 409, "email_taken")
    assert problem["title"] == "E-mail already registered"


@pytest.mark.parametrize(
    "extra",
    [
        {"role": "admin"},
        {"is_superuser": True},
        {"id": "00000000-0000-0000-0000-000000000001"},
        {"scopes": ["users:write"]},
        {"is_active": False},
    ],
)
async def test_unknown_fields_are_rejected_and_change_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, extra: dict[str, object]
) -> None:
    body = {**UserCreateFactory.build().model_dump(), **extra}
    problem = assert_problem(await client.post("/v1/auth/signup", json=body), 422, "validation_failed")
    assert [error["type"] for error in problem["detail"]] == ["extra_forbidden"]
    assert await _user_count(db_session) == 0


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("password", "too-short", "string_too_short"),
        ("email", "not-an-email", "value_error"),
        ("name", "", "string_too_short"),
        ("name", 42, "string_type"),
        ("password", 123456789012, "string_type"),
    ],
)
async def test_invalid_fields_are_422_and_never_echo_the_password(
    client: httpx.AsyncClient, field: str, value: object, error_type: str
) -> None:
    body = {**UserCreateFactory.build().model_dump(), field: value}
    response = await client.post("/v1/auth/signup", json=body)
    problem = assert_problem(response, 422, "validation_failed")
    [error] = problem["detail"]
    assert (error["loc"], error["type"]) == (["body", field], error_type)
    if field == "password":
        assert str(value) not in response.text


async def test_whitespace_around_strings_is_stripped(client: httpx.AsyncClient) -> None:
    body = UserCreateFactory.build().model_dump()
    response = await client.post("/v1/auth/signup", json={**body, "name": "  Ada Lovelace  "})
    assert response.json()["name"] == "Ada Lovelace"


async def test_signup_records_the_welcome_email_in_the_same_transaction(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    response = await client.post(
        "/v1/auth/signup", json=UserCreateFactory.build().model_dump(), headers={"X-Request-ID": "signup-1"}
    )
    [job] = await db_session.scalars(select(JobOutbox))
    assert job.job_name == "send_welcome_email"
    assert job.payload == {"user_id": response.json()["id"]}
    assert job.request_id == "signup-1"
    assert job.dispatched_at is None


async def test_a_refused_signup_records_no_job(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    body = UserCreateFactory.build().model_dump()
    await client.post("/v1/auth/signup", json=body)
    await client.post("/v1/auth/signup", json=body)  # 409
    assert len(list(await db_session.scalars(select(JobOutbox)))) == 1
