"""``certification.expiring``: partners are told 30 days before a certification expires.

Once per certification and expiry date. A certification recorded with less than 30
days left is told at the next run; one already expired is not "expiring" and is left
alone.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from otog_shared.outbox import record_event
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.expiry.repository import ExpiryRepository

NOTICE_DAYS = 30
PAGE = 500


class ExpiryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = ExpiryRepository(session)

    async def notify_expiring(self, today: date) -> list[uuid.UUID]:
        told: list[uuid.UUID] = []
        last = today + timedelta(days=NOTICE_DAYS)
        while True:
            page = await self.repository.expiring_unnoticed(today, last, PAGE)
            if not page:
                return told
            for cert in page:
                if not await self.repository.add_notice(cert.id, cert.expires_on):
                    continue
                await record_event(
                    self.session,
                    "certification.expiring",
                    subject=f"/v1/products/{cert.product_id}/certifications",
                    data={
                        "certification_id": cert.id,
                        "product_id": cert.product_id,
                        "group_id": cert.group_id,
                        "standard": cert.standard,
                        "expires_on": cert.expires_on,
                        "days_left": (cert.expires_on - today).days,
                    },
                    province_code=cert.province_code,
                )
                told.append(cert.id)
