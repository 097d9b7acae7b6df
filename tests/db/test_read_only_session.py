"""The read-only session safe requests get: no transaction, and no way to write (DB-3, docs/performance.md).

Its statements run on the engine's AUTOCOMMIT connections, so a write through it would be
committed at once, outside the unit of work. It must be refused before it reaches PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from app.db.session import ReadOnlySessionError, read_only, unit_of_work
from app.models.user import User
from app.resources import Resources
from tests.support.factories import create_user


async def test_it_reads(resources: Resources, db_session) -> None:
    stored = await create_user(db_session, resources.settings)
    async with read_only(resources.session_factory, resources.engine) as session:
        user = await session.get(User, stored.user.id)
    assert user is not None
    assert user.email == stored.email


async def test_each_statement_is_its_own_transaction(resources: Resources) -> None:
    # No BEGIN/COMMIT round trips: in AUTOCOMMIT two statements run in two transactions...
    async with read_only(resources.session_factory, resources.engine) as session:
        first, second = [await session.scalar(select(func.txid_current())) for _ in range(2)]
    assert first != second
    # ...where a unit of work runs them in one.
    async with unit_of_work(resources.session_factory) as session:
        first, second = [await session.scalar(select(func.txid_current())) for _ in range(2)]
    assert first == second


async def test_a_flush_is_refused(resources: Resources) -> None:
    async with read_only(resources.session_factory, resources.engine) as session:
        session.add(User(email="nobody@example.com", name="Nobody", password_hash="x", scopes=[]))
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
    async with read_only(resources.session_factory, resources.engine) as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_a_write_statement_is_refused(resources: Resources, db_session) -> None:
    stored = await create_user(db_session, resources.settings)
    user_id, name = stored.user.id, stored.user.name
    async with read_only(resources.session_factory, resources.engine) as session:
        with pytest.raises(ReadOnlySessionError):
            await session.execute(update(User).where(User.id == user_id).values(name="Changed"))
    db_session.expire_all()
    assert await db_session.scalar(select(User.name).where(User.id == user_id)) == name
