from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Date, DateTime

from otog_loan_ledger.models import Base

# Days past due at which partners are told (``loan.overdue``): the first day, and
# the first day of each portfolio-at-risk bucket after it.
OVERDUE_THRESHOLDS: tuple[int, ...] = (1, 31, 61, 91)


class OverdueNotice(Base):
    """A threshold of days past due reached by a loan in one arrears episode.

    An episode is named by ``due_since``, the due date days past due count from (that
    of the oldest installment not fully paid). Once that installment is paid, days past
    due count afresh from the next unpaid one, which is a new episode: a loan that
    catches up and falls behind again is told again.
    """

    __tablename__ = "overdue_notices"
    __table_args__ = (CheckConstraint("threshold IN (1, 31, 61, 91)", name="threshold"),)

    loan_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("loans.id"), primary_key=True
    )
    due_since: Mapped[date] = mapped_column(Date, primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    days_past_due: Mapped[int] = mapped_column(Integer, nullable=False)
    noticed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
