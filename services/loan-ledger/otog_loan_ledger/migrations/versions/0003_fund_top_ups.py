"""Fund top-ups: money added to a fund's budget, posted as `top_up` journal entries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same ceiling as a new fund's budget (otog_loan_ledger.schemas.MAX_SATANG),
# written out: a migration must not change when the code does.
BUDGET_CEILING = 10_000_000_000_000

KINDS_BEFORE = (
    "'fund_opened', 'reservation', 'release', 'disbursement', 'repayment', 'repayment_reversal'"
)


def upgrade() -> None:
    op.create_table(
        "fund_top_ups",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("fund_id", sa.UUID(), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount_satang > 0", name=op.f("ck_fund_top_ups_amount_positive")),
        sa.CheckConstraint(
            "length(reason) BETWEEN 1 AND 2000", name=op.f("ck_fund_top_ups_reason_length")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_fund_top_ups_fund_id_funds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_top_ups")),
        sa.UniqueConstraint("seq", name=op.f("uq_fund_top_ups_seq")),
    )
    op.create_index("ix_fund_top_ups_fund_id_seq", "fund_top_ups", ["fund_id", "seq"])
    # The function comes from 0002: top-ups are append-only like the rest of the books.
    op.execute(
        "CREATE TRIGGER fund_top_ups_append_only BEFORE UPDATE OR DELETE ON fund_top_ups "
        "FOR EACH ROW EXECUTE FUNCTION forbid_update_delete()"
    )

    op.add_column("journal_entries", sa.Column("top_up_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_journal_entries_top_up_id_fund_top_ups"),
        "journal_entries",
        "fund_top_ups",
        ["top_up_id"],
        ["id"],
    )
    op.create_index("ix_journal_entries_top_up_id", "journal_entries", ["top_up_id"])
    op.drop_constraint(op.f("ck_journal_entries_kind"), "journal_entries", type_="check")
    op.create_check_constraint(
        op.f("ck_journal_entries_kind"),
        "journal_entries",
        f"kind IN ({KINDS_BEFORE}, 'top_up')",
    )
    op.create_check_constraint(
        op.f("ck_journal_entries_top_up_reference"),
        "journal_entries",
        "(kind = 'top_up') = (top_up_id IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_funds_budget_ceiling"), "funds", f"budget_satang <= {BUDGET_CEILING}"
    )


def downgrade() -> None:
    # Refused by the kind constraint below while top-up entries exist: the books
    # would no longer explain the budgets.
    op.drop_constraint(op.f("ck_funds_budget_ceiling"), "funds", type_="check")
    op.drop_constraint(
        op.f("ck_journal_entries_top_up_reference"), "journal_entries", type_="check"
    )
    op.drop_constraint(op.f("ck_journal_entries_kind"), "journal_entries", type_="check")
    op.create_check_constraint(
        op.f("ck_journal_entries_kind"), "journal_entries", f"kind IN ({KINDS_BEFORE})"
    )
    op.drop_index("ix_journal_entries_top_up_id", table_name="journal_entries")
    op.drop_constraint(
        op.f("fk_journal_entries_top_up_id_fund_top_ups"), "journal_entries", type_="foreignkey"
    )
    op.drop_column("journal_entries", "top_up_id")
    op.execute("DROP TRIGGER IF EXISTS fund_top_ups_append_only ON fund_top_ups")
    op.drop_index("ix_fund_top_ups_fund_id_seq", table_name="fund_top_ups")
    op.drop_table("fund_top_ups")
