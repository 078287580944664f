from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.workers.models import Worker


@dataclass(frozen=True)
class WorkerFilter:
    province: str | None = None
    district: str | None = None
    subdistrict: str | None = None


# One statement per batch: arrays in, rows out, duplicates skipped by the
# unique index on the HMAC. Sorting by the HMAC makes concurrent imports take
# row locks in the same order, so they wait for each other but never deadlock.
_BULK_INSERT = text(
    """
    INSERT INTO workers (
        id, national_id_hmac, national_id_encrypted, first_name_th, last_name_th,
        first_name_en, last_name_en, birth_date, subdistrict_code, district_code,
        province_code, phone, social_security, pdpa_basis, consent_given_at,
        version, created_by, created_request_id
    )
    SELECT u.*, 1, :created_by, :request_id
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:hmacs AS bytea[]), CAST(:ciphers AS bytea[]),
        CAST(:first_th AS text[]), CAST(:last_th AS text[]),
        CAST(:first_en AS text[]), CAST(:last_en AS text[]), CAST(:births AS date[]),
        CAST(:subdistricts AS text[]), CAST(:districts AS text[]), CAST(:provinces AS text[]),
        CAST(:phones AS text[]), CAST(:social AS text[]), CAST(:bases AS text[]),
        CAST(:consents AS timestamptz[])
    ) AS u(
        id, hmac, cipher, first_th, last_th, first_en, last_en, birth, subdistrict, district,
        province, phone, social, basis, consent
    )
    ORDER BY u.hmac
    ON CONFLICT (national_id_hmac) DO NOTHING
    RETURNING id
    """
)


class WorkerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_new(self, values: dict[str, Any]) -> Worker | None:
        """Insert, or return None when the person (by HMAC) is already registered."""
        stmt = (
            insert(Worker)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Worker.national_id_hmac])
            .returning(Worker)
        )
        result = await self.session.scalars(stmt, execution_options={"populate_existing": True})
        return result.one_or_none()

    async def get(self, worker_id: uuid.UUID, *, for_update: bool = False) -> Worker | None:
        stmt = select(Worker).where(Worker.id == worker_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def get_by_hmac(self, digest: bytes) -> Worker | None:
        stmt = select(Worker).where(Worker.national_id_hmac == digest)
        return (await self.session.scalars(stmt)).one_or_none()

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Worker]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Worker).where(Worker.id.in_(ids)))
        return {w.id: w for w in rows}

    async def find(
        self, filters: WorkerFilter, *, after: uuid.UUID | None, limit: int
    ) -> list[Worker]:
        stmt = select(Worker).order_by(Worker.id).limit(limit)
        if filters.province:
            stmt = stmt.where(Worker.province_code == filters.province)
        if filters.district:
            stmt = stmt.where(Worker.district_code == filters.district)
        if filters.subdistrict:
            stmt = stmt.where(Worker.subdistrict_code == filters.subdistrict)
        if after is not None:
            stmt = stmt.where(Worker.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def bulk_insert(
        self, columns: dict[str, list[Any]], *, created_by: str | None, request_id: str | None
    ) -> int:
        """Insert a batch given as column arrays; returns how many rows were new."""
        result = await self.session.execute(
            _BULK_INSERT, {**columns, "created_by": created_by, "request_id": request_id}
        )
        return len(result.fetchall())
