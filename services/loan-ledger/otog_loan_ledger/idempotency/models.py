from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_loan_ledger.models import Base


class IdempotencyRecord(Base):
    """The first successful response to a request made with an ``Idempotency-Key``.

    Keys are per client. A row is written in the same transaction as the work
    it records, so it exists exactly when the work was committed.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint("response_status BETWEEN 200 AND 299", name="success_only"),
        # The expiry job deletes by age.
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    response_status: Mapped[int] = mapped_column(Integer, nullable=False)
    # The exact bytes sent the first time, so a replay is byte-for-byte the same.
    response_body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
