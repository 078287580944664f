"""The scheduler's tables, the overdue notices sent, and idempotency keys by age.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from otog_shared.scheduler import create_scheduler_tables, drop_scheduler_tables
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_scheduler_tables(op)
    op.create_table(
        "overdue_notices",
        sa.Column("loan_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("due_since", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column(
            "noticed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "threshold IN (1, 31, 61, 91)", name=op.f("ck_overdue_notices_threshold")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_overdue_notices_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint(
            "loan_id", "due_since", "threshold", name=op.f("pk_overdue_notices")
        ),
    )
    op.create_index(
        "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("overdue_notices")
    drop_scheduler_tables(op)
