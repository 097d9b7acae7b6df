"""create post: posts owned by a user, indexed for the public list and for each author

Revision ID: 0004
Revises: 0003
Created: 2026-11-22 05:08:27.561422+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_post_status")),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], name=op.f("fk_post_author_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post")),
    )
    op.create_index("ix_post_author_id_created_at_id", "post", ["author_id", "created_at", "id"], unique=False)
    op.create_index(
        "ix_post_published_created_at_id",
        "post",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'published'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_post_published_created_at_id", table_name="post", postgresql_where=sa.text("status = 'published'")
    )
    op.drop_index("ix_post_author_id_created_at_id", table_name="post")
    op.drop_table("post")
