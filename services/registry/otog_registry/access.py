"""Province restriction for list queries.

A client bound to a province sees only that province's objects: every list is
filtered by it, and asking for another province gives an empty list (single
objects of another province are 404, see ``otog_shared.auth.ensure_visible``).
"""

from __future__ import annotations

from dataclasses import dataclass

from otog_shared.auth import Principal


@dataclass(frozen=True)
class ProvinceScope:
    province: str | None
    # The caller asked for a province it may not see: the answer is empty.
    empty: bool = False


def province_scope(principal: Principal, requested: str | None) -> ProvinceScope:
    if principal.province is None:
        return ProvinceScope(requested)
    if requested is not None and requested != principal.province:
        return ProvinceScope(principal.province, empty=True)
    return ProvinceScope(principal.province)
