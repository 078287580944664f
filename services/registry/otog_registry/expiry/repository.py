from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.expiry.models import CertificationExpiryNotice
from otog_registry.groups.models import Group
from otog_registry.products.models import Certification, Product


@dataclass(frozen=True)
class ExpiringCertification:
    id: uuid.UUID
    product_id: uuid.UUID
    group_id: uuid.UUID
    province_code: str
    standard: str
    expires_on: date


class ExpiryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def expiring_unnoticed(
        self, first: date, last: date, limit: int
    ) -> list[ExpiringCertification]:
        """Certifications expiring from ``first`` to ``last`` not yet told for that date."""
        notice = CertificationExpiryNotice
        rows = await self.session.execute(
            select(
                Certification.id,
                Certification.product_id,
                Product.group_id,
                Group.province_code,
                Certification.standard,
                Certification.expires_on,
            )
            .join(Product, Product.id == Certification.product_id)
            .join(Group, Group.id == Product.group_id)
            .outerjoin(
                notice,
                and_(
                    notice.certification_id == Certification.id,
                    notice.expires_on == Certification.expires_on,
                ),
            )
            .where(
                Certification.expires_on >= first,
                Certification.expires_on <= last,
                notice.certification_id.is_(None),
            )
            .order_by(Certification.expires_on, Certification.id)
            .limit(limit)
        )
        return [
            ExpiringCertification(
                id=r.id,
                product_id=r.product_id,
                group_id=r.group_id,
                province_code=r.province_code,
                standard=r.standard,
                # Not NULL: the query asks for a date range.
                expires_on=r.expires_on or first,
            )
            for r in rows.all()
        ]

    async def add_notice(self, certification_id: uuid.UUID, expires_on: date) -> bool:
        """Mark it told; False when another run already did (it then tells nothing)."""
        result = await self.session.execute(
            insert(CertificationExpiryNotice)
            .values(certification_id=certification_id, expires_on=expires_on)
            .on_conflict_do_nothing()
            .returning(CertificationExpiryNotice.certification_id)
        )
        return result.scalar_one_or_none() is not None
