"""Programme dashboard figures, computed by SQL aggregates. A client bound to a
province gets its province's figures only."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Query
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_registry.access import province_scope
from otog_registry.deps import Reader
from otog_registry.fiscal import current_fiscal_year, fiscal_year_bounds
from otog_registry.groups.stages import Stage
from otog_registry.market.schemas import Partner
from otog_registry.stats.repository import StatsRepository
from otog_registry.stats.schemas import (
    ProgrammeStats,
    SalesCount,
    SalesStats,
    StageCount,
    StageStats,
    StageTotal,
)
from otog_registry.stats.service import ProgrammeStatsService

router = APIRouter(prefix="/v1/stats", tags=["stats"])

FiscalYear = Annotated[
    int | None,
    Query(
        ge=2500,
        le=2800,
        description="Thai fiscal year, Buddhist Era (FY2568 = Oct 2024 – Sep 2025); "
        "default: the current one.",
    ),
]
ProvinceFilter = Annotated[str | None, Query(pattern=r"^[0-9]{2}$", examples=["15"])]


def _stage_stats(
    fiscal_year: int | None, province: str | None, rows: list[tuple[str, str, str, str, int]]
) -> StageStats:
    totals: Counter[str] = Counter()
    for row in rows:
        totals[row[3]] += row[4]
    return StageStats(
        fiscal_year=fiscal_year,
        province=province,
        rows=[
            StageCount(
                province_code=r[0],
                province_name_th=r[1],
                province_name_en=r[2],
                stage=Stage(r[3]),
                groups=r[4],
            )
            for r in rows
        ],
        totals=[StageTotal(stage=s, groups=totals[s.value]) for s in Stage if totals[s.value]],
    )


@router.get(
    "/groups-by-stage",
    summary="Groups that reached each stage in a fiscal year",
    response_model=StageStats,
    responses=problem_responses(401, 403, 422),
)
async def groups_by_stage(
    session: DbSession,
    principal: Reader,
    fiscal_year: FiscalYear = None,
    province: ProvinceFilter = None,
) -> StageStats:
    """Per province and stage, how many groups entered the stage during the fiscal
    year (by the fiscal year recorded on each stage change; `registered` counts the
    groups registered that year, `prototype` the year's prototypes)."""
    year = fiscal_year or current_fiscal_year()
    scope = province_scope(principal, province)
    rows = (
        [] if scope.empty else await StatsRepository(session).stages_reached(year, scope.province)
    )
    return _stage_stats(year, scope.province, rows)


@router.get(
    "/groups-by-status",
    summary="Groups by their current stage",
    response_model=StageStats,
    responses=problem_responses(401, 403, 422),
)
async def groups_by_status(
    session: DbSession, principal: Reader, province: ProvinceFilter = None
) -> StageStats:
    """Per province, how many groups are in each stage now."""
    scope = province_scope(principal, province)
    rows = [] if scope.empty else await StatsRepository(session).current_stages(scope.province)
    return _stage_stats(None, scope.province, rows)


@router.get(
    "/market-sales",
    summary="Market links and sales in a fiscal year",
    response_model=SalesStats,
    responses=problem_responses(401, 403, 422),
)
async def market_sales(
    session: DbSession,
    principal: Reader,
    fiscal_year: FiscalYear = None,
    province: ProvinceFilter = None,
) -> SalesStats:
    """Per province and partner ministry: market links, groups reached and sales
    (satang) with `occurred_on` in the fiscal year."""
    year = fiscal_year or current_fiscal_year()
    scope = province_scope(principal, province)
    rows = (
        []
        if scope.empty
        else await StatsRepository(session).sales(fiscal_year_bounds(year), scope.province)
    )
    return SalesStats(
        fiscal_year=year,
        province=scope.province,
        rows=[
            SalesCount(
                province_code=r[0],
                province_name_th=r[1],
                province_name_en=r[2],
                partner=Partner(r[3]),
                links=r[4],
                groups=r[5],
                sales_satang=r[6],
            )
            for r in rows
        ],
        sales_satang=sum(r[6] for r in rows),
    )


@router.get(
    "/programme",
    summary="The programme's targets beside its actual figures in a fiscal year",
    response_model=ProgrammeStats,
    responses=problem_responses(401, 403, 422),
)
async def programme_stats(
    session: DbSession,
    principal: Reader,
    fiscal_year: FiscalYear = None,
    province: ProvinceFilter = None,
) -> ProgrammeStats:
    """The fiscal year's national targets (401 prototypes, 77 through the full-cycle
    training, 324 finishing by 31 March in FY2568; null for a year without targets)
    beside the same figures counted from the groups: prototypes selected under the
    year, groups that entered `training` under it, and groups that entered
    `product_development` under it by the end of the deadline day (Asia/Bangkok).
    With them, groups per current stage, groups that entered each journey stage under
    the year, and the figures per province. A client bound to a province gets its
    province's figures (the targets stay national)."""
    year = fiscal_year or current_fiscal_year()
    scope = province_scope(principal, province)
    return await ProgrammeStatsService(StatsRepository(session)).programme(year, scope)
