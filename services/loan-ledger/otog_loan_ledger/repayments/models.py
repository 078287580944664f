from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_loan_ledger.models import Base


class Repayment(Base):
    """Money received for a loan. Never changed: a mistake is corrected by a
    :class:`RepaymentReversal` (and a reversing journal entry)."""

    __tablename__ = "repayments"
    __table_args__ = (
        CheckConstraint("amount_satang > 0", name="amount_positive"),
        Index("ix_repayments_loan_id_paid_on_seq", "loan_id", "paid_on", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    loan_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("loans.id"), nullable=False
    )
    amount_satang: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_on: Mapped[date] = mapped_column(Date, nullable=False)
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class RepaymentReversal(Base):
    __tablename__ = "repayment_reversals"

    repayment_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("repayments.id"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    reversed_on: Mapped[date] = mapped_column(Date, nullable=False)
    reversed_by: Mapped[str] = mapped_column(Text, nullable=False)
    reversed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
