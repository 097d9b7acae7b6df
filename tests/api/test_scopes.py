"""`require_scope(...)` on a whole router: every scope it names is needed, and a 403 says which are missing (DEP-4)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.problems import problem_responses
from app.api.security import CurrentUser, require_scope
from app.core.config import Settings
from app.core.scopes import SUPERUSER_SCOPES, Scope
from app.main import create_app
from app.schemas.users import UserRead
from tests.conftest import BASE_URL
from tests.support.factories import StoredUser, bearer, create_user
from tests.support.problems import assert_problem


@pytest.fixture
async def guarded_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus one route behind a router that needs `users:read` and `users:write`.

    `require_scope` does its work when a router is declared. The app's own routers are
    declared at import, before any test runs; this one is declared by the test itself.
    """
    router = APIRouter(prefix="/guarded", dependencies=[require_scope(Scope.USERS_READ, Scope.USERS_WRITE)])

    @router.get("", summary="Guarded", description="Answers tokens with both scopes.", responses=problem_responses(403))
    async def guarded(user: CurrentUser) -> UserRead:
        return UserRead.model_validate(user)

    application = create_app(settings)
    application.include_router(router)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


@pytest.fixture
async def admin(db_session: AsyncSession, settings: Settings) -> StoredUser:
    return await create_user(db_session, settings, scopes=SUPERUSER_SCOPES)


async def test_a_token_with_every_scope_named_gets_through(
    guarded_client: httpx.AsyncClient, admin: StoredUser, settings: Settings
) -> None:
    response = await guarded_client.get("/guarded", headers=bearer(admin.user, settings))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(admin.user.id)


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [
        pytest.param(["users:read", "posts:write"], "users:write", id="without users:write"),
        pytest.param(["users:write"], "users:read", id="without users:read"),
        pytest.param(["posts:write"], "users:read users:write", id="without either"),
        pytest.param([], "users:read users:write", id="without any scope"),
    ],
)
async def test_a_token_missing_any_scope_named_is_told_which(
    guarded_client: httpx.AsyncClient, admin: StoredUser, settings: Settings, scopes: list[str], missing: str
) -> None:
    response = await guarded_client.get("/guarded", headers=bearer(admin.user, settings, scopes=scopes))
    problem = assert_problem(response, 403, "permission_denied")
    assert problem["detail"] == f"This operation needs the scope {missing}."


async def test_no_token_is_401_before_any_scope_is_checked(guarded_client: httpx.AsyncClient) -> None:
    assert_problem(await guarded_client.get("/guarded"), 401, "authentication_failed")
