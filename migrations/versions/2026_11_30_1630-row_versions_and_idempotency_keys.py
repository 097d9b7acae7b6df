"""row versions for post and user, kept by a trigger; the idempotency_key table

Revision ID: 0007
Revises: 0006
Created: 2026-11-30 16:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED_TABLES = ("post", "user")


def upgrade() -> None:
    # Every UPDATE raises the row's version by one, whoever issues it (the ORM, a bulk UPDATE, psql):
    # the version is the entity tag clients send back in If-Match, so no write may leave it behind.
    op.execute(
        """
        CREATE FUNCTION bump_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.version := OLD.version + 1;
            RETURN NEW;
        END;
        $$
        """
    )
    for table in VERSIONED_TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        op.execute(
            f'CREATE TRIGGER {table}_bump_version BEFORE UPDATE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION bump_row_version()"
        )

    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_idempotency_key_scope_key")),
    )
    op.create_index("ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_key_expires_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
    for table in VERSIONED_TABLES:
        op.execute(f'DROP TRIGGER {table}_bump_version ON "{table}"')
        op.drop_column(table, "version")
    op.execute("DROP FUNCTION bump_row_version()")
