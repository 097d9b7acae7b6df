"""identity lifecycle: verified e-mail and scheduled erasure on user, one-time account tokens, personal access tokens

Revision ID: 0009
Revises: 0008
Created: 2026-11-30 16:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Accounts that exist already start unverified: nothing has proved their addresses yet.
    op.add_column("user", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("user", sa.Column("erasure_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_user_erasure_due_at",
        "user",
        ["erasure_due_at"],
        unique=False,
        postgresql_where=sa.text("erasure_due_at IS NOT NULL"),
    )
    op.create_table(
        "account_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("credentials_version", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("purpose IN ('verify_email', 'reset_password')", name=op.f("ck_account_token_purpose")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_account_token_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_token_token_hash")),
    )
    op.create_index(op.f("ix_account_token_expires_at"), "account_token", ["expires_at"], unique=False)
    op.create_index(op.f("ix_account_token_user_id"), "account_token", ["user_id"], unique=False)
    op.create_table(
        "personal_access_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_personal_access_token_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_access_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_personal_access_token_token_hash")),
    )
    op.create_index(op.f("ix_personal_access_token_expires_at"), "personal_access_token", ["expires_at"], unique=False)
    op.create_index(
        "ix_personal_access_token_user_id_created_at_id",
        "personal_access_token",
        ["user_id", "created_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_personal_access_token_user_id_created_at_id", table_name="personal_access_token")
    op.drop_index(op.f("ix_personal_access_token_expires_at"), table_name="personal_access_token")
    op.drop_table("personal_access_token")
    op.drop_index(op.f("ix_account_token_user_id"), table_name="account_token")
    op.drop_index(op.f("ix_account_token_expires_at"), table_name="account_token")
    op.drop_table("account_token")
    op.drop_index("ix_user_erasure_due_at", table_name="user")
    op.drop_column("user", "erasure_due_at")
    op.drop_column("user", "email_verified_at")
