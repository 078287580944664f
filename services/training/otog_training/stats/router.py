"""Seat figures per training area for the programme's dashboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.fiscal import current_fiscal_year

from otog_training.deps import Reader
from otog_training.sessions.schemas import ProvinceCode
from otog_training.stats.repository import TrainingStatsRepository
from otog_training.stats.schemas import TrainingStats
from otog_training.stats.service import TrainingStatsService

router = APIRouter(prefix="/v1/stats", tags=["stats"])


@router.get(
    "/training",
    summary="Seats, bookings and fill rate per training area in a fiscal year",
    response_model=TrainingStats,
    responses=problem_responses(401, 403, 422),
)
async def training_stats(
    session: DbSession,
    principal: Reader,
    fiscal_year: Annotated[
        int | None,
        Query(
            ge=2500,
            le=2800,
            description="Thai fiscal year, Buddhist Era (FY2568 = Oct 2024 – Sep 2025); "
            "default: the current one.",
        ),
    ] = None,
    province: Annotated[ProvinceCode | None, Query(description="Training area.")] = None,
) -> TrainingStats:
    """Per province, over the sessions whose first day falls in the fiscal year:
    sessions, cancelled sessions, sessions still open below their minimum, seats,
    people confirmed and waitlisted, and the fill rate (confirmed ÷ seats, basis
    points). Cancelled sessions count only as cancelled. A provincial client sees its
    own province (another province's figures are empty)."""
    year = fiscal_year or current_fiscal_year()
    return await TrainingStatsService(TrainingStatsRepository(session)).per_province(
        principal, year, province
    )
