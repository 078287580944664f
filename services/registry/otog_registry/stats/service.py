"""The programme's progress in a fiscal year: its targets beside what the groups did."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from otog_registry.access import ProvinceScope
from otog_registry.fiscal import BANGKOK, BUDDHIST_ERA_OFFSET
from otog_registry.groups.stages import JOURNEY, Stage
from otog_registry.stats.repository import ProvinceCount, StatsRepository
from otog_registry.stats.schemas import (
    ProgrammeFigures,
    ProgrammeStats,
    ProgrammeTargets,
    ProvinceProgramme,
    StageTotal,
)


def default_deadline(fiscal_year: int) -> date:
    """The programme's yearly deadline when no target names one: 31 March (the loan
    applications' and the prototypes' finishing date)."""
    return date(fiscal_year - BUDDHIST_ERA_OFFSET, 3, 31)


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=BANGKOK)


class ProgrammeStatsService:
    def __init__(self, stats: StatsRepository) -> None:
        self.stats = stats

    async def programme(self, fiscal_year: int, scope: ProvinceScope) -> ProgrammeStats:
        target = await self.stats.targets(fiscal_year)
        deadline = target.finish_by if target else default_deadline(fiscal_year)
        targets = (
            ProgrammeTargets(
                prototype_groups=target.prototype_groups,
                full_cycle_groups=target.full_cycle_groups,
                finish_by=target.finish_by,
                finish_by_groups=target.finish_by_groups,
                source=target.source,
            )
            if target
            else None
        )
        if scope.empty:
            return ProgrammeStats(
                fiscal_year=fiscal_year,
                province=scope.province,
                targets=targets,
                actuals=ProgrammeFigures(
                    prototype_groups=0,
                    full_cycle_groups=0,
                    finish_by=deadline,
                    finish_by_groups=0,
                ),
                current_stages=[StageTotal(stage=s, groups=0) for s in Stage],
                reached_stages=[StageTotal(stage=s, groups=0) for s in JOURNEY],
                provinces=[],
            )

        province = scope.province
        groups = await self.stats.groups_per_province(province)
        prototypes = await self.stats.prototypes_per_province(fiscal_year, province)
        full_cycle = await self.stats.reached_by(fiscal_year, Stage.training, None, province)
        finished = await self.stats.reached_by(
            fiscal_year, Stage.product_development, _end_of(deadline), province
        )
        current = await self.stats.current_stages(province)
        reached = await self.stats.stages_reached(fiscal_year, province)

        now: Counter[str] = Counter()
        for row in current:
            now[row[3]] += row[4]
        year: Counter[str] = Counter()
        for row in reached:
            year[row[3]] += row[4]

        return ProgrammeStats(
            fiscal_year=fiscal_year,
            province=province,
            targets=targets,
            actuals=ProgrammeFigures(
                prototype_groups=_total(prototypes),
                full_cycle_groups=_total(full_cycle),
                finish_by=deadline,
                finish_by_groups=_total(finished),
            ),
            current_stages=[StageTotal(stage=s, groups=now[s.value]) for s in Stage],
            reached_stages=[StageTotal(stage=s, groups=year[s.value]) for s in JOURNEY],
            provinces=_per_province(groups, prototypes, full_cycle, finished),
        )


def _total(rows: list[ProvinceCount]) -> int:
    return sum(r[3] for r in rows)


def _per_province(
    groups: list[ProvinceCount],
    prototypes: list[ProvinceCount],
    full_cycle: list[ProvinceCount],
    finished: list[ProvinceCount],
) -> list[ProvinceProgramme]:
    def by_code(rows: list[ProvinceCount]) -> dict[str, int]:
        return {r[0]: r[3] for r in rows}

    picked, trained, done = by_code(prototypes), by_code(full_cycle), by_code(finished)
    # Every counted group is a registered group, so `groups` names every province.
    return [
        ProvinceProgramme(
            province_code=code,
            province_name_th=name_th,
            province_name_en=name_en,
            groups=count,
            prototype_groups=picked.get(code, 0),
            full_cycle_groups=trained.get(code, 0),
            finish_by_groups=done.get(code, 0),
        )
        for code, name_th, name_en, count in groups
    ]
