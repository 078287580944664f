from __future__ import annotations

import uuid
from datetime import date, datetime

from otog_shared.db import TimestampMixin
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from otog_registry.ids import new_id
from otog_registry.models import Base

SOCIAL_SECURITY_STATUSES = ("none", "section_33", "section_39", "section_40", "unknown")
PDPA_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interest",
    "public_task",
    "legitimate_interest",
)


class Worker(TimestampMixin, Base):
    """An informal worker (แรงงานอิสระ). The national ID is stored only as
    ciphertext and as a keyed hash; see ``otog_registry.pii.crypto``."""

    __tablename__ = "workers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["subdistrict_code", "district_code", "province_code"],
            [
                "geo.subdistricts.code",
                "geo.subdistricts.district_code",
                "geo.subdistricts.province_code",
            ],
            name="fk_workers_subdistrict",
        ),
        CheckConstraint(
            "social_security IN ('none', 'section_33', 'section_39', 'section_40', 'unknown')",
            name="social_security",
        ),
        CheckConstraint(
            "pdpa_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interest', "
            "'public_task', 'legitimate_interest')",
            name="pdpa_basis",
        ),
        CheckConstraint(
            "pdpa_basis <> 'consent' OR consent_given_at IS NOT NULL", name="consent_recorded"
        ),
        CheckConstraint("octet_length(national_id_hmac) = 32", name="national_id_hmac"),
        Index("ix_workers_province_code_id", "province_code", "id"),
        Index("ix_workers_district_code_id", "district_code", "id"),
        Index("ix_workers_subdistrict_code_id", "subdistrict_code", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    # HMAC-SHA256 of the 13 digits: the only way to find a person by ID, and
    # what makes "one person, once" a database constraint.
    national_id_hmac: Mapped[bytes] = mapped_column(LargeBinary, unique=True, nullable=False)
    national_id_encrypted: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    first_name_th: Mapped[str] = mapped_column(Text, nullable=False)
    last_name_th: Mapped[str] = mapped_column(Text, nullable=False)
    first_name_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_name_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    subdistrict_code: Mapped[str] = mapped_column(String(6), nullable=False)
    district_code: Mapped[str] = mapped_column(String(4), nullable=False)
    province_code: Mapped[str] = mapped_column(String(2), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    social_security: Mapped[str] = mapped_column(String(16), nullable=False, default="unknown")
    pdpa_basis: Mapped[str] = mapped_column(String(24), nullable=False)
    consent_given_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
