"""Subdistrict codes that DOPA abolished, to tell callers with old records what replaced them."""

from __future__ import annotations

from functools import lru_cache

from geothai.abolished import abolished_areas


@lru_cache(maxsize=1)
def _abolished_subdistricts() -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        a.code: (a.abolished_on, tuple(a.successors))
        for a in abolished_areas()
        if a.level == "subdistrict"
    }


def unknown_subdistrict_message(code: str) -> str:
    """Why a subdistrict code is not accepted, naming successors when it was abolished."""
    found = _abolished_subdistricts().get(code)
    if found is None:
        return "unknown subdistrict code"
    abolished_on, successors = found
    message = f"subdistrict code abolished on {abolished_on}"
    if successors:
        message += "; now " + " or ".join(successors)
    return message
