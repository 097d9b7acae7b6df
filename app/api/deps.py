"""Dependencies shared by every router, with their `Annotated` aliases (DEP-2).

Handlers declare what they need in their signature (`session: DbSession`); they
never reach into `request.app.state` themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.db.session import read_only, unit_of_work
from app.resources import Resources


async def get_resources(request: Request) -> Resources:
    # Set by the lifespan in app.main; typed here once so handlers never touch app.state.
    # async: a sync dependency would cost a thread-pool hop on every request.
    return cast("Resources", request.app.state.resources)


async def get_settings(request: Request) -> Settings:
    return cast("Settings", request.app.state.settings)


ResourcesDep = Annotated[Resources, Depends(get_resources)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# Safe methods (RFC 9110 §9.2.1) never change data here, so they read without a transaction.
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


async def get_db_session(request: Request, resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """One session per request; for a request that may write, one transaction, committed here and nowhere else (DB-3).

    Declared with `scope="function"` below, so the commit runs after the handler
    returns but *before* the response is sent: a commit that fails becomes an
    error response, never a 2xx for work that was not saved. Any exception
    thrown into the `yield` skips the commit, and closing the session rolls back.

    GET and HEAD get a read-only session instead: no BEGIN/COMMIT round trips, and a
    write attempted through it fails loudly (`app/db/session.py`).
    """
    if request.method in READ_ONLY_METHODS:
        async with read_only(resources.session_factory, resources.engine) as session:
            yield session
        return
    async with unit_of_work(resources.session_factory) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]


async def forbid_caching(response: Response) -> None:
    """For responses that carry a token or a secret: no cache, shared or private, may keep them.

    RFC 6749 §5.1 asks for both headers on token responses; `Pragma` is for HTTP/1.0 caches.
    """
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


NoStore = Depends(forbid_caching)
