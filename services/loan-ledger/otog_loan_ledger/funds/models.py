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
    select,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, column_property, mapped_column
from sqlalchemy.types import DateTime

from otog_loan_ledger.models import Base
from otog_loan_ledger.schemas import MAX_SATANG

# What the fund's row alone can still reserve: the row leaves out the repayments
# not yet folded into it (see ``FundFigureChange``), so this is never more than
# what the fund has. The same expression guards reservations (one UPDATE ...
# WHERE) and backs them with a CHECK constraint.
AVAILABLE_SQL = (
    "budget_satang - committed_satang - disbursed_satang"
    " + CASE WHEN revolving THEN repaid_satang ELSE 0 END"
)


class FundFigureChange(Base):
    """Money repaid into a fund and not yet added to the fund's row.

    A repayment appends one of these instead of updating the fund's row, so the
    repayments of every loan of a fund do not queue on that one row's lock. The
    fund's figures are its row plus the sum of its changes, read in one
    statement: the journal entry and the change of a repayment commit together,
    and a fold moves changes into the row in one transaction, so any snapshot
    sees figures that equal the journal's. Only ever positive: what lowers the
    fund's availability takes the row's lock instead (see
    ``FundRepository.lock``). Internal: not synced, no events, no API.
    """

    __tablename__ = "fund_figure_changes"
    __table_args__ = (
        CheckConstraint("repaid_satang > 0", name="repaid_positive"),
        Index("ix_fund_figure_changes_fund_id", "fund_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    fund_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("funds.id"), nullable=False
    )
    repaid_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class Fund(TimestampMixin, Base):
    """A loan fund with a hard budget.

    The running figures are kept on the row so that one guarded UPDATE can
    reserve budget atomically; the ledger records every change to them and
    the trial balance reconciles the two. Repayments are the exception: they
    are appended as ``FundFigureChange`` rows and folded into the row later,
    and every read of the fund adds the unfolded ones in the same statement.
    """

    __tablename__ = "funds"
    __table_args__ = (
        CheckConstraint("length(name) BETWEEN 1 AND 200", name="name_length"),
        CheckConstraint(
            "province_code IS NULL OR province_code ~ '^[0-9]{2}$'", name="province_code"
        ),
        CheckConstraint("budget_satang > 0", name="budget_positive"),
        # Top-ups raise the budget; it stays within the ceiling a new fund's has.
        CheckConstraint(f"budget_satang <= {MAX_SATANG}", name="budget_ceiling"),
        CheckConstraint("committed_satang >= 0", name="committed_not_negative"),
        CheckConstraint("disbursed_satang >= 0", name="disbursed_not_negative"),
        CheckConstraint(
            "repaid_satang >= 0 AND repaid_satang <= disbursed_satang", name="repaid_range"
        ),
        CheckConstraint(f"{AVAILABLE_SQL} >= 0", name="within_budget"),
        CheckConstraint("applications_open_on <= applications_close_on", name="window_order"),
        CheckConstraint(
            "min_principal_satang > 0 AND min_principal_satang <= max_principal_satang",
            name="principal_range",
        ),
        CheckConstraint("term_months BETWEEN 1 AND 120", name="term_months"),
        CheckConstraint("interest_rate_bps = 0", name="interest_free"),
        CheckConstraint("installment_multiple_satang > 0", name="multiple_positive"),
        CheckConstraint(
            "min_principal_satang >= term_months * installment_multiple_satang",
            name="installments_not_zero",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    funding_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    budget_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    committed_satang: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    disbursed_satang: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # The repaid money folded into the row; ``repaid_satang`` is the whole.
    folded_repaid_satang: Mapped[int] = mapped_column(
        "repaid_satang", BigInteger, nullable=False, default=0
    )
    applications_open_on: Mapped[date] = mapped_column(Date, nullable=False)
    applications_close_on: Mapped[date] = mapped_column(Date, nullable=False)
    min_principal_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    max_principal_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    term_months: Mapped[int] = mapped_column(Integer, nullable=False)
    interest_rate_bps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    installment_multiple_satang: Mapped[int] = mapped_column(Integer, nullable=False)
    revolving: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # Bumped by every change of the figures: the ETag.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    # Loaded with the row, in the same SELECT (so in the same snapshot).
    unfolded_repaid_satang: Mapped[int] = column_property(
        select(func.coalesce(func.sum(FundFigureChange.repaid_satang), 0).cast(BigInteger))
        .where(FundFigureChange.fund_id == id)
        .correlate_except(FundFigureChange)
        .scalar_subquery()
    )

    @property
    def repaid_satang(self) -> int:
        return self.folded_repaid_satang + self.unfolded_repaid_satang

    @property
    def available_satang(self) -> int:
        recycled = self.repaid_satang if self.revolving else 0
        return self.budget_satang - self.committed_satang - self.disbursed_satang + recycled


class FundTopUp(TimestampMixin, Base):
    """Money added to a fund's budget, and why.

    Never changed nor deleted (a database trigger refuses it): with the journal
    entry that posts it (``journal_entries.top_up_id``) it is the record of who
    raised the budget, when, by how much and on which request.
    """

    __tablename__ = "fund_top_ups"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="amount_positive"),
        CheckConstraint("length(reason) BETWEEN 1 AND 2000", name="reason_length"),
        Index("ix_fund_top_ups_fund_id_seq", "fund_id", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    fund_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("funds.id"), nullable=False
    )
    amount_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    effective_on: Mapped[date] = mapped_column(Date, nullable=False)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    request_id: Mapped[str | None] = mapped_column(Text, nullable=True)
