"""The fiscal calendar lives in ``otog_shared.fiscal`` (training counts by it too)."""

from __future__ import annotations

from otog_shared.fiscal import (
    BANGKOK,
    BUDDHIST_ERA_OFFSET,
    current_fiscal_year,
    fiscal_year_bounds,
    fiscal_year_of,
    today_in_bangkok,
)

__all__ = [
    "BANGKOK",
    "BUDDHIST_ERA_OFFSET",
    "current_fiscal_year",
    "fiscal_year_bounds",
    "fiscal_year_of",
    "today_in_bangkok",
]
