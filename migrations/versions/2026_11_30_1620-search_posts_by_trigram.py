"""search posts by trigram: pg_trgm GIN indexes that serve ILIKE '%...%' on title and body

Revision ID: 0006
Revises: 0005
Created: 2026-11-30 16:50:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("title", "body")


def upgrade() -> None:
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13:
    # a database owner may create it without superuser rights.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in _COLUMNS:
        op.create_index(
            f"ix_post_{column}_trgm",
            "post",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
            postgresql_where="status = 'published'",
        )


def downgrade() -> None:
    for column in _COLUMNS:
        op.drop_index(f"ix_post_{column}_trgm", table_name="post")
    # The extension stays: other objects may have come to depend on it since.
