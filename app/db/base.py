"""The declarative base every model inherits, with the conventions DB-7/DB-8 ask for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Every index and constraint gets a predictable name, so migrations can drop and
# rename them and services can recognise a violated constraint by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """`created_at`/`updated_at`, set by the database so every writer agrees on the clock."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class VersionedMixin:
    """`version`: a counter the database raises on every UPDATE of the row (a trigger; see migration 0007).

    It is the row's entity tag (the API sends it as `ETag`) and SQLAlchemy's optimistic check:
    as `version_id_col`, every UPDATE and DELETE the ORM emits adds `AND version = <the version
    it loaded>`, so a write based on an outdated read changes nothing and raises `StaleDataError`
    instead of overwriting someone else's change. `version_id_generator=False` leaves the counting
    to the trigger, which also counts writes made in SQL outside the ORM; the ORM reads the new
    value back with RETURNING. docs/decisions/0040-row-versions-and-etags.md explains the choice.
    """

    version: Mapped[int] = mapped_column(server_default=text("1"))

    @declared_attr.directive
    @classmethod
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version, "version_id_generator": False}
