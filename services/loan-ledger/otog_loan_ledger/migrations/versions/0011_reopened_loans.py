"""A loan reopened by a reversed repayment no longer counts against the one open
loan per group and fund: that rule guards applications, and a correction of the
ledger (a bounced transfer) must be recordable even after the group applied again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "loans",
        sa.Column("reopened", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    # Loans reopened before this revision are those whose history has a reopening.
    op.execute(
        "UPDATE loans SET reopened = true"
        " WHERE id IN (SELECT loan_id FROM loan_status_changes WHERE action = 'reopen')"
    )
    op.create_check_constraint(
        op.f("ck_loans_reopened_disbursed"), "loans", "NOT reopened OR disbursed_on IS NOT NULL"
    )
    op.drop_index("uq_loans_open_per_group_fund", table_name="loans")
    op.create_index(
        "uq_loans_open_per_group_fund",
        "loans",
        ["fund_id", "group_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('submitted', 'approved', 'active') AND NOT reopened"),
    )


def downgrade() -> None:
    # Fails, as it should, while a group holds a reopened loan beside another open one.
    op.drop_index("uq_loans_open_per_group_fund", table_name="loans")
    op.create_index(
        "uq_loans_open_per_group_fund",
        "loans",
        ["fund_id", "group_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('submitted', 'approved', 'active')"),
    )
    op.drop_constraint(op.f("ck_loans_reopened_disbursed"), "loans", type_="check")
    op.drop_column("loans", "reopened")
