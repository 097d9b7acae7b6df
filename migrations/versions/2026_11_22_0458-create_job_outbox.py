"""create job_outbox: jobs recorded in the transaction that causes them

Revision ID: 0003
Revises: 0002
Created: 2026-11-22 04:58:22.177699+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_name", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatch_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
    )
    op.create_index(
        "ix_job_outbox_due",
        "job_outbox",
        ["available_at"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL AND processed_at IS NULL"),
    )
    op.create_index(
        "ix_job_outbox_in_flight",
        "job_outbox",
        ["dispatched_at"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NOT NULL AND processed_at IS NULL"),
    )
    op.create_index(op.f("ix_job_outbox_processed_at"), "job_outbox", ["processed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_outbox_processed_at"), table_name="job_outbox")
    op.drop_index(
        "ix_job_outbox_in_flight",
        table_name="job_outbox",
        postgresql_where=sa.text("dispatched_at IS NOT NULL AND processed_at IS NULL"),
    )
    op.drop_index(
        "ix_job_outbox_due",
        table_name="job_outbox",
        postgresql_where=sa.text("dispatched_at IS NULL AND processed_at IS NULL"),
    )
    op.drop_table("job_outbox")
