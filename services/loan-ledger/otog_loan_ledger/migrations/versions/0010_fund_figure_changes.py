"""Repayments reach their fund's figures as appended changes, folded into the
fund's row later, so that the repayments of a fund do not queue on its row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fund_figure_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("fund_id", sa.UUID(), nullable=False),
        sa.Column("repaid_satang", sa.BigInteger(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "repaid_satang > 0", name=op.f("ck_fund_figure_changes_repaid_positive")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_fund_figure_changes_fund_id_funds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_figure_changes")),
    )
    op.create_index("ix_fund_figure_changes_fund_id", "fund_figure_changes", ["fund_id"])


def downgrade() -> None:
    # Without the table the fund's row holds all of its figures: fold first.
    op.execute(
        """
        UPDATE funds f
        SET repaid_satang = f.repaid_satang + c.repaid, version = f.version + 1
        FROM (
            SELECT fund_id, sum(repaid_satang)::bigint AS repaid
            FROM fund_figure_changes GROUP BY fund_id
        ) c
        WHERE f.id = c.fund_id
        """
    )
    op.drop_index("ix_fund_figure_changes_fund_id", table_name="fund_figure_changes")
    op.drop_table("fund_figure_changes")
