from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Date, DateTime

from otog_registry.models import Base


class CertificationExpiryNotice(Base):
    """``certification.expiring`` was recorded for this certification and expiry date.

    Keyed by the date too: a certification whose ``expires_on`` is moved (renewed) is
    told again before its new date."""

    __tablename__ = "certification_expiry_notices"

    certification_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("certifications.id"), primary_key=True
    )
    expires_on: Mapped[date] = mapped_column(Date, primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
