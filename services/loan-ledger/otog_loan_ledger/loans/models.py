from __future__ import annotations

import uuid
from datetime import date, datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_loan_ledger.models import Base

STATUS_VALUES = "'submitted', 'approved', 'active', 'closed', 'rejected', 'withdrawn'"


class Loan(TimestampMixin, Base):
    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status"),
        CheckConstraint("principal_satang > 0", name="principal_positive"),
        CheckConstraint("province_code ~ '^[0-9]{2}$'", name="province_code"),
        CheckConstraint("term_months BETWEEN 1 AND 120", name="term_months"),
        CheckConstraint("installment_multiple_satang > 0", name="multiple_positive"),
        CheckConstraint(
            "(status IN ('active', 'closed')) = (disbursed_on IS NOT NULL)",
            name="disbursed_when_active",
        ),
        CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_on"),
        CheckConstraint("NOT reopened OR disbursed_on IS NOT NULL", name="reopened_disbursed"),
        # One open loan per group per fund, however many applications race. A loan
        # reopened by a reversed repayment is left out: the rule guards applications,
        # and a correction of the ledger must never be refused because the group
        # applied again after the loan closed.
        Index(
            "uq_loans_open_per_group_fund",
            "fund_id",
            "group_id",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'approved', 'active') AND NOT reopened"),
        ),
        Index("ix_loans_fund_id_status", "fund_id", "status"),
        Index("ix_loans_group_id", "group_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    fund_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("funds.id"), nullable=False
    )
    group_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    # Copied from the registry when applying: the loan's province decides who
    # may see and act on it, without asking the registry on every read.
    group_name_th: Mapped[str] = mapped_column(Text, nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    principal_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    # The fund's terms when the loan was applied for.
    term_months: Mapped[int] = mapped_column(Integer, nullable=False)
    installment_multiple_satang: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False)
    submitted_by: Mapped[str] = mapped_column(Text, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    disbursed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    disbursed_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Set for good when a reversed repayment reopens the loan after it closed.
    reopened: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Installment(Base):
    """One line of a loan's schedule. ``paid_satang`` is kept in step with the
    repayments (it is recomputed from them after a reversal)."""

    __tablename__ = "installments"
    __table_args__ = (
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("principal_satang > 0", name="principal_positive"),
        CheckConstraint("paid_satang >= 0 AND paid_satang <= principal_satang", name="paid_range"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("loans.id"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    principal_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_satang: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class LoanStatusChange(Base):
    """Who moved a loan from which state to which, and when (append-only)."""

    __tablename__ = "loan_status_changes"
    __table_args__ = (Index("ix_loan_status_changes_loan_id_seq", "loan_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("loans.id"), nullable=False
    )
    action: Mapped[str] = mapped_column(Text, nullable=False)
    from_status: Mapped[str | None] = mapped_column(Text, nullable=True)
    to_status: Mapped[str] = mapped_column(Text, nullable=False)
    changed_by: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
