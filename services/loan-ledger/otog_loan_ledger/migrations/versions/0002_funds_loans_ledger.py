"""Funds, loans, schedules, repayments, the double-entry ledger, idempotency keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AVAILABLE = (
    "budget_satang - committed_satang - disbursed_satang"
    " + CASE WHEN revolving THEN repaid_satang ELSE 0 END"
)

# Tables that are only ever appended to.
APPEND_ONLY = (
    "ledger_accounts",
    "journal_entries",
    "repayments",
    "repayment_reversals",
    "loan_status_changes",
)


def _created_at() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "funds",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("funding_source", sa.Text(), nullable=True),
        sa.Column("province_code", sa.String(2), nullable=True),
        sa.Column("budget_satang", sa.BigInteger(), nullable=False),
        sa.Column("committed_satang", sa.BigInteger(), nullable=False),
        sa.Column("disbursed_satang", sa.BigInteger(), nullable=False),
        sa.Column("repaid_satang", sa.BigInteger(), nullable=False),
        sa.Column("applications_open_on", sa.Date(), nullable=False),
        sa.Column("applications_close_on", sa.Date(), nullable=False),
        sa.Column("min_principal_satang", sa.BigInteger(), nullable=False),
        sa.Column("max_principal_satang", sa.BigInteger(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("interest_rate_bps", sa.Integer(), nullable=False),
        sa.Column("installment_multiple_satang", sa.Integer(), nullable=False),
        sa.Column("revolving", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _created_at(),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_funds_name_length")),
        sa.CheckConstraint(
            "province_code IS NULL OR province_code ~ '^[0-9]{2}$'",
            name=op.f("ck_funds_province_code"),
        ),
        sa.CheckConstraint("budget_satang > 0", name=op.f("ck_funds_budget_positive")),
        sa.CheckConstraint("committed_satang >= 0", name=op.f("ck_funds_committed_not_negative")),
        sa.CheckConstraint("disbursed_satang >= 0", name=op.f("ck_funds_disbursed_not_negative")),
        sa.CheckConstraint(
            "repaid_satang >= 0 AND repaid_satang <= disbursed_satang",
            name=op.f("ck_funds_repaid_range"),
        ),
        sa.CheckConstraint(f"{AVAILABLE} >= 0", name=op.f("ck_funds_within_budget")),
        sa.CheckConstraint(
            "applications_open_on <= applications_close_on", name=op.f("ck_funds_window_order")
        ),
        sa.CheckConstraint(
            "min_principal_satang > 0 AND min_principal_satang <= max_principal_satang",
            name=op.f("ck_funds_principal_range"),
        ),
        sa.CheckConstraint("term_months BETWEEN 1 AND 120", name=op.f("ck_funds_term_months")),
        sa.CheckConstraint("interest_rate_bps = 0", name=op.f("ck_funds_interest_free")),
        sa.CheckConstraint(
            "installment_multiple_satang > 0", name=op.f("ck_funds_multiple_positive")
        ),
        sa.CheckConstraint(
            "min_principal_satang >= term_months * installment_multiple_satang",
            name=op.f("ck_funds_installments_not_zero"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds")),
        sa.UniqueConstraint("name", name=op.f("uq_funds_name")),
    )

    op.create_table(
        "ledger_accounts",
        sa.Column("fund_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("normal_balance", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "code IN ('fund_capital', 'available_budget', 'reserved_budget',"
            " 'loans_receivable', 'collections')",
            name=op.f("ck_ledger_accounts_code"),
        ),
        sa.CheckConstraint(
            "normal_balance IN ('debit', 'credit')", name=op.f("ck_ledger_accounts_normal_balance")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_ledger_accounts_fund_id_funds")
        ),
        sa.PrimaryKeyConstraint("fund_id", "code", name=op.f("pk_ledger_accounts")),
    )

    op.create_table(
        "loans",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("fund_id", sa.UUID(), nullable=False),
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("group_name_th", sa.Text(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("principal_satang", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("installment_multiple_satang", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("disbursed_by", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        _created_at(),
        sa.CheckConstraint(
            "status IN ('submitted', 'approved', 'active', 'closed', 'rejected', 'withdrawn')",
            name=op.f("ck_loans_status"),
        ),
        sa.CheckConstraint("principal_satang > 0", name=op.f("ck_loans_principal_positive")),
        sa.CheckConstraint("province_code ~ '^[0-9]{2}$'", name=op.f("ck_loans_province_code")),
        sa.CheckConstraint("term_months BETWEEN 1 AND 120", name=op.f("ck_loans_term_months")),
        sa.CheckConstraint(
            "installment_multiple_satang > 0", name=op.f("ck_loans_multiple_positive")
        ),
        sa.CheckConstraint(
            "(status IN ('active', 'closed')) = (disbursed_on IS NOT NULL)",
            name=op.f("ck_loans_disbursed_when_active"),
        ),
        sa.CheckConstraint(
            "(status = 'closed') = (closed_on IS NOT NULL)", name=op.f("ck_loans_closed_on")
        ),
        sa.ForeignKeyConstraint(["fund_id"], ["funds.id"], name=op.f("fk_loans_fund_id_funds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    op.create_index(
        "uq_loans_open_per_group_fund",
        "loans",
        ["fund_id", "group_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('submitted', 'approved', 'active')"),
    )
    op.create_index("ix_loans_fund_id_status", "loans", ["fund_id", "status"])
    op.create_index("ix_loans_group_id", "loans", ["group_id"])

    op.create_table(
        "installments",
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("principal_satang", sa.BigInteger(), nullable=False),
        sa.Column("paid_satang", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_installments_number_positive")),
        sa.CheckConstraint("principal_satang > 0", name=op.f("ck_installments_principal_positive")),
        sa.CheckConstraint(
            "paid_satang >= 0 AND paid_satang <= principal_satang",
            name=op.f("ck_installments_paid_range"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_installments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", "number", name=op.f("pk_installments")),
    )

    op.create_table(
        "loan_status_changes",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_status_changes_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_loan_status_changes")),
    )
    op.create_index("ix_loan_status_changes_loan_id_seq", "loan_status_changes", ["loan_id", "seq"])

    op.create_table(
        "repayments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("loan_id", sa.UUID(), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount_satang > 0", name=op.f("ck_repayments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_repayments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repayments")),
        sa.UniqueConstraint("seq", name=op.f("uq_repayments_seq")),
    )
    op.create_index(
        "ix_repayments_loan_id_paid_on_seq", "repayments", ["loan_id", "paid_on", "seq"]
    )

    op.create_table(
        "repayment_reversals",
        sa.Column("repayment_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reversed_on", sa.Date(), nullable=False),
        sa.Column("reversed_by", sa.Text(), nullable=False),
        sa.Column(
            "reversed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["repayment_id"],
            ["repayments.id"],
            name=op.f("fk_repayment_reversals_repayment_id_repayments"),
        ),
        sa.PrimaryKeyConstraint("repayment_id", name=op.f("pk_repayment_reversals")),
    )

    op.create_table(
        "journal_entries",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("fund_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("debit_account", sa.Text(), nullable=False),
        sa.Column("credit_account", sa.Text(), nullable=False),
        sa.Column("amount_satang", sa.BigInteger(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.UUID(), nullable=True),
        sa.Column("repayment_id", sa.UUID(), nullable=True),
        sa.Column("reverses_entry_id", sa.UUID(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column(
            "posted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount_satang > 0", name=op.f("ck_journal_entries_amount_positive")),
        sa.CheckConstraint(
            "debit_account <> credit_account", name=op.f("ck_journal_entries_two_accounts")
        ),
        sa.CheckConstraint(
            "kind IN ('fund_opened', 'reservation', 'release', 'disbursement',"
            " 'repayment', 'repayment_reversal')",
            name=op.f("ck_journal_entries_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.id"], name=op.f("fk_journal_entries_fund_id_funds")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id", "debit_account"],
            ["ledger_accounts.fund_id", "ledger_accounts.code"],
            name="fk_journal_entries_debit_account_ledger_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["fund_id", "credit_account"],
            ["ledger_accounts.fund_id", "ledger_accounts.code"],
            name="fk_journal_entries_credit_account_ledger_accounts",
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_journal_entries_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["repayment_id"],
            ["repayments.id"],
            name=op.f("fk_journal_entries_repayment_id_repayments"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_journal_entries_reverses_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("seq", name=op.f("uq_journal_entries_seq")),
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_journal_entries_reverses_entry_id")),
    )
    op.create_index("ix_journal_entries_fund_id_seq", "journal_entries", ["fund_id", "seq"])
    op.create_index("ix_journal_entries_loan_id", "journal_entries", ["loan_id"])
    op.create_index("ix_journal_entries_repayment_id", "journal_entries", ["repayment_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "response_status BETWEEN 200 AND 299", name=op.f("ck_idempotency_keys_success_only")
        ),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_keys")),
    )

    # Append-only: corrections are new rows (reversing entries), never edits.
    # TRUNCATE stays possible for operators (it needs table ownership anyway).
    op.execute(
        """
        CREATE FUNCTION forbid_update_delete() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION forbid_update_delete()"
        )


def downgrade() -> None:
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS forbid_update_delete()")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_journal_entries_repayment_id", table_name="journal_entries")
    op.drop_index("ix_journal_entries_loan_id", table_name="journal_entries")
    op.drop_index("ix_journal_entries_fund_id_seq", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("repayment_reversals")
    op.drop_index("ix_repayments_loan_id_paid_on_seq", table_name="repayments")
    op.drop_table("repayments")
    op.drop_index("ix_loan_status_changes_loan_id_seq", table_name="loan_status_changes")
    op.drop_table("loan_status_changes")
    op.drop_table("installments")
    op.drop_index("ix_loans_group_id", table_name="loans")
    op.drop_index("ix_loans_fund_id_status", table_name="loans")
    op.drop_index("uq_loans_open_per_group_fund", table_name="loans")
    op.drop_table("loans")
    op.drop_table("ledger_accounts")
    op.drop_table("funds")
