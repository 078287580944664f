"""What the loan ledger needs to know from the registry, behind one small gateway.

Only the registry's public API is used, with this service's own client
credentials (``app.state.registry``). Any way the registry fails to give an
answer becomes a 503 problem: an application is never accepted or refused on
a guess.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from otog_shared.errors import DependencyUnavailable
from otog_shared.http import ServiceClient
from pydantic import BaseModel, ValidationError

log = logging.getLogger("otog.loans.registry")

# The registry's largest page.
MEMBERSHIP_PAGE = 200

# Group stages in which a group may not take a loan.
INELIGIBLE_STATUSES = frozenset({"suspended", "dissolved"})


class _GroupPayload(BaseModel):
    id: uuid.UUID
    name_th: str
    name_en: str | None = None
    status: str
    province_code: str
    district_code: str | None = None
    subdistrict_code: str | None = None
    occupation: str | None = None


class _Membership(BaseModel):
    group_id: uuid.UUID
    left_at: str | None = None


class _MembershipPage(BaseModel):
    items: list[_Membership]
    next_cursor: str | None = None


@dataclass(frozen=True)
class RegistryGroup:
    id: uuid.UUID
    name_th: str
    name_en: str | None
    status: str
    province_code: str
    district_code: str | None
    subdistrict_code: str | None

    @property
    def eligible(self) -> bool:
        return self.status not in INELIGIBLE_STATUSES


class RegistryGateway:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def get_group(self, group_id: uuid.UUID) -> RegistryGroup | None:
        """The group, or ``None`` when the registry does not know it."""
        body = await self.client.get_resource(f"/v1/groups/{group_id}")
        if body is None:
            return None
        try:
            payload = _GroupPayload.model_validate(body)
        except ValidationError as exc:
            log.error("registry sent an unexpected group document")
            raise DependencyUnavailable(
                "The registry sent an unexpected answer.", dependency="registry"
            ) from exc
        return RegistryGroup(
            id=payload.id,
            name_th=payload.name_th,
            name_en=payload.name_en,
            status=payload.status,
            province_code=payload.province_code,
            district_code=payload.district_code,
            subdistrict_code=payload.subdistrict_code,
        )

    async def current_groups_of(self, worker_id: uuid.UUID) -> list[uuid.UUID]:
        """The groups the worker belongs to now (the registry's membership list,
        memberships that ended left out); empty when the registry knows no such worker."""
        groups: list[uuid.UUID] = []
        query: dict[str, str] = {"limit": str(MEMBERSHIP_PAGE)}
        while True:
            body = await self.client.get_resource(
                f"/v1/workers/{worker_id}/memberships?{urlencode(query)}"
            )
            if body is None:
                return []
            try:
                page = _MembershipPage.model_validate(body)
            except ValidationError as exc:
                log.error("registry sent an unexpected membership page")
                raise DependencyUnavailable(
                    "The registry sent an unexpected answer.", dependency="registry"
                ) from exc
            groups += [m.group_id for m in page.items if m.left_at is None]
            if not page.next_cursor:
                return groups
            query["cursor"] = page.next_cursor


async def get_registry(request: Request) -> RegistryGateway:
    return RegistryGateway(request.app.state.registry)


Registry = Annotated[RegistryGateway, Depends(get_registry)]
