from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.geography.models import District, Province, Subdistrict


@dataclass(frozen=True)
class Place:
    subdistrict_code: str
    district_code: str
    province_code: str


def _name_matches(name_th: Any, name_en: Any, q: str) -> ColumnElement[bool]:
    return or_(name_th.icontains(q, autoescape=True), name_en.icontains(q, autoescape=True))


class GeographyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_provinces(
        self, *, region: str | None, q: str | None, after: str | None, limit: int
    ) -> list[Province]:
        stmt = select(Province).order_by(Province.code).limit(limit)
        if region:
            stmt = stmt.where(Province.region == region)
        if after:
            stmt = stmt.where(Province.code > after)
        if q:
            stmt = stmt.where(_name_matches(Province.name_th, Province.name_en, q))
        return list((await self.session.scalars(stmt)).all())

    async def get_province(self, code: str) -> Province | None:
        return await self.session.get(Province, code)

    async def list_districts(
        self, *, province: str | None, q: str | None, after: str | None, limit: int
    ) -> list[District]:
        stmt = select(District).order_by(District.code).limit(limit)
        if province:
            stmt = stmt.where(District.province_code == province)
        if after:
            stmt = stmt.where(District.code > after)
        if q:
            stmt = stmt.where(_name_matches(District.name_th, District.name_en, q))
        return list((await self.session.scalars(stmt)).all())

    async def get_district(self, code: str) -> District | None:
        return await self.session.get(District, code)

    async def list_subdistricts(
        self,
        *,
        province: str | None,
        district: str | None,
        postal_code: str | None,
        q: str | None,
        after: str | None,
        limit: int,
    ) -> list[Subdistrict]:
        stmt = select(Subdistrict).order_by(Subdistrict.code).limit(limit)
        if province:
            stmt = stmt.where(Subdistrict.province_code == province)
        if district:
            stmt = stmt.where(Subdistrict.district_code == district)
        if postal_code:
            stmt = stmt.where(Subdistrict.postal_codes.contains([postal_code]))
        if after:
            stmt = stmt.where(Subdistrict.code > after)
        if q:
            stmt = stmt.where(_name_matches(Subdistrict.name_th, Subdistrict.name_en, q))
        return list((await self.session.scalars(stmt)).all())

    async def get_subdistrict(self, code: str) -> Subdistrict | None:
        return await self.session.get(Subdistrict, code)

    async def place_of(self, subdistrict_code: str) -> Place | None:
        row = (
            await self.session.execute(
                select(
                    Subdistrict.code, Subdistrict.district_code, Subdistrict.province_code
                ).where(Subdistrict.code == subdistrict_code)
            )
        ).first()
        return Place(row[0], row[1], row[2]) if row else None

    async def all_places(self) -> dict[str, Place]:
        rows = await self.session.execute(
            select(Subdistrict.code, Subdistrict.district_code, Subdistrict.province_code)
        )
        return {r[0]: Place(r[0], r[1], r[2]) for r in rows}
