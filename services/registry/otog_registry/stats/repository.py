"""Dashboard figures, computed by the database (GROUP BY), never by Python loops over rows."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.geography.models import Province
from otog_registry.groups.models import Group, PrototypeSelection, StageChange
from otog_registry.market.models import MarketLink
from otog_registry.stats.models import ProgrammeTarget

# (province code, Thai name, English name, count)
ProvinceCount = tuple[str, str, str, int]


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stages_reached(
        self, fiscal_year: int, province: str | None
    ) -> list[tuple[str, str, str, str, int]]:
        """Groups that entered each stage during the fiscal year, per province."""
        groups = func.count(distinct(StageChange.group_id))
        stmt = (
            select(Province.code, Province.name_th, Province.name_en, StageChange.to_stage, groups)
            .select_from(StageChange)
            .join(Group, Group.id == StageChange.group_id)
            .join(Province, Province.code == Group.province_code)
            .where(StageChange.fiscal_year == fiscal_year)
            .group_by(Province.code, Province.name_th, Province.name_en, StageChange.to_stage)
            .order_by(Province.code, StageChange.to_stage)
        )
        if province:
            stmt = stmt.where(Group.province_code == province)
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in await self.session.execute(stmt)]

    async def current_stages(self, province: str | None) -> list[tuple[str, str, str, str, int]]:
        """Groups per province by the stage they are in now."""
        stmt = (
            select(Province.code, Province.name_th, Province.name_en, Group.status, func.count())
            .select_from(Group)
            .join(Province, Province.code == Group.province_code)
            .group_by(Province.code, Province.name_th, Province.name_en, Group.status)
            .order_by(Province.code, Group.status)
        )
        if province:
            stmt = stmt.where(Group.province_code == province)
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in await self.session.execute(stmt)]

    async def sales(
        self, between: tuple[date, date], province: str | None
    ) -> list[tuple[str, str, str, str, int, int, int]]:
        """Market links, groups reached and sales per province and partner."""
        stmt = (
            select(
                Province.code,
                Province.name_th,
                Province.name_en,
                MarketLink.partner,
                func.count(),
                func.count(distinct(MarketLink.group_id)),
                func.coalesce(func.sum(MarketLink.sales_satang), 0),
            )
            .select_from(MarketLink)
            .join(Group, Group.id == MarketLink.group_id)
            .join(Province, Province.code == Group.province_code)
            .where(MarketLink.occurred_on.between(*between))
            .group_by(Province.code, Province.name_th, Province.name_en, MarketLink.partner)
            .order_by(Province.code, MarketLink.partner)
        )
        if province:
            stmt = stmt.where(Group.province_code == province)
        return [
            (r[0], r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6] or 0))
            for r in await self.session.execute(stmt)
        ]

    async def targets(self, fiscal_year: int) -> ProgrammeTarget | None:
        return await self.session.get(ProgrammeTarget, fiscal_year)

    async def groups_per_province(self, province: str | None) -> list[ProvinceCount]:
        """Every group registered, whatever its stage, per province."""
        stmt = (
            select(Province.code, Province.name_th, Province.name_en, func.count())
            .select_from(Group)
            .join(Province, Province.code == Group.province_code)
            .group_by(Province.code, Province.name_th, Province.name_en)
            .order_by(Province.code)
        )
        if province:
            stmt = stmt.where(Group.province_code == province)
        return [(r[0], r[1], r[2], int(r[3])) for r in await self.session.execute(stmt)]

    async def prototypes_per_province(
        self, fiscal_year: int, province: str | None
    ) -> list[ProvinceCount]:
        """The fiscal year's prototype selections (one per subdistrict), per province."""
        stmt = (
            select(Province.code, Province.name_th, Province.name_en, func.count())
            .select_from(PrototypeSelection)
            .join(Group, Group.id == PrototypeSelection.group_id)
            .join(Province, Province.code == Group.province_code)
            .where(PrototypeSelection.fiscal_year == fiscal_year)
            .group_by(Province.code, Province.name_th, Province.name_en)
            .order_by(Province.code)
        )
        if province:
            stmt = stmt.where(Group.province_code == province)
        return [(r[0], r[1], r[2], int(r[3])) for r in await self.session.execute(stmt)]

    async def reached_by(
        self, fiscal_year: int, stage: str, before: datetime | None, province: str | None
    ) -> list[ProvinceCount]:
        """Groups that entered ``stage`` under the fiscal year (and before ``before``,
        if given), per province."""
        stmt = (
            select(
                Province.code,
                Province.name_th,
                Province.name_en,
                func.count(distinct(StageChange.group_id)),
            )
            .select_from(StageChange)
            .join(Group, Group.id == StageChange.group_id)
            .join(Province, Province.code == Group.province_code)
            .where(
                StageChange.fiscal_year == fiscal_year,
                StageChange.to_stage == stage,
            )
            .group_by(Province.code, Province.name_th, Province.name_en)
            .order_by(Province.code)
        )
        if before is not None:
            stmt = stmt.where(StageChange.changed_at < before)
        if province:
            stmt = stmt.where(Group.province_code == province)
        return [(r[0], r[1], r[2], int(r[3])) for r in await self.session.execute(stmt)]
