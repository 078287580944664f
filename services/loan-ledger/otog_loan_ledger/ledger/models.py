from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_loan_ledger.models import Base


class AccountCode(StrEnum):
    FUND_CAPITAL = "fund_capital"
    AVAILABLE_BUDGET = "available_budget"
    RESERVED_BUDGET = "reserved_budget"
    LOANS_RECEIVABLE = "loans_receivable"
    COLLECTIONS = "collections"


class NormalBalance(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class EntryKind(StrEnum):
    FUND_OPENED = "fund_opened"
    RESERVATION = "reservation"
    RELEASE = "release"
    DISBURSEMENT = "disbursement"
    REPAYMENT = "repayment"
    REPAYMENT_REVERSAL = "repayment_reversal"
    TOP_UP = "top_up"


class LedgerAccount(Base):
    """One account of a fund's chart (see ``ledger.chart``). Never changed once opened."""

    __tablename__ = "ledger_accounts"

    fund_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("funds.id"), primary_key=True
    )
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    normal_balance: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        CheckConstraint(
            "code IN ('fund_capital', 'available_budget', 'reserved_budget',"
            " 'loans_receivable', 'collections')",
            name="code",
        ),
        CheckConstraint("normal_balance IN ('debit', 'credit')", name="normal_balance"),
    )


class JournalEntry(Base):
    """A balanced journal entry: ``amount`` debited to one account and credited to another.

    One debit and one credit of the same amount per row make "debits equal
    credits" true by construction (as a TigerBeetle transfer). Rows are only
    ever inserted: a database trigger rejects UPDATE and DELETE, and a
    correction is a new entry that ``reverses`` an earlier one.
    """

    __tablename__ = "journal_entries"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="amount_positive"),
        CheckConstraint("debit_account <> credit_account", name="two_accounts"),
        CheckConstraint(
            "kind IN ('fund_opened', 'reservation', 'release', 'disbursement',"
            " 'repayment', 'repayment_reversal', 'top_up')",
            name="kind",
        ),
        CheckConstraint("(kind = 'top_up') = (top_up_id IS NOT NULL)", name="top_up_reference"),
        ForeignKeyConstraint(
            ["fund_id", "debit_account"],
            ["ledger_accounts.fund_id", "ledger_accounts.code"],
            name="fk_journal_entries_debit_account_ledger_accounts",
        ),
        ForeignKeyConstraint(
            ["fund_id", "credit_account"],
            ["ledger_accounts.fund_id", "ledger_accounts.code"],
            name="fk_journal_entries_credit_account_ledger_accounts",
        ),
        Index("ix_journal_entries_fund_id_seq", "fund_id", "seq"),
        Index("ix_journal_entries_loan_id", "loan_id"),
        Index("ix_journal_entries_repayment_id", "repayment_id"),
        Index("ix_journal_entries_top_up_id", "top_up_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    fund_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("funds.id"), nullable=False
    )
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    debit_account: Mapped[str] = mapped_column(Text, nullable=False)
    credit_account: Mapped[str] = mapped_column(Text, nullable=False)
    amount_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    effective_on: Mapped[date] = mapped_column(Date, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    loan_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("loans.id"), nullable=True
    )
    repayment_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("repayments.id"), nullable=True
    )
    top_up_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("fund_top_ups.id"), nullable=True
    )
    reverses_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id"), nullable=True, unique=True
    )
    recorded_by: Mapped[str] = mapped_column(Text, nullable=False)
    request_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    posted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
