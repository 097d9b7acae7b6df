"""add job_outbox.traceparent: the trace a job continues

Revision ID: 0008
Revises: 0007
Created: 2026-11-30 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: a metadata-only change, no table rewrite, no lock held for long.
    op.add_column("job_outbox", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    op.drop_column("job_outbox", "traceparent")
