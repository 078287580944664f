"""The registry's sync collections: each entity in the representation its GET returns,
under the same access rules (national IDs masked unless the caller has `pii:read`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from otog_shared.auth import Principal

from otog_registry.groups.schemas import GroupOut
from otog_registry.market.schemas import MarketLinkOut
from otog_registry.members.schemas import MemberOut
from otog_registry.members.service import MemberService
from otog_registry.products.schemas import ProductOut
from otog_registry.products.service import ProductService
from otog_registry.sync.repository import SyncRepository
from otog_registry.visits.schemas import VisitOut
from otog_registry.visits.service import VisitService
from otog_registry.workers.schemas import WorkerOut
from otog_registry.workers.service import WorkerService

Ids = Sequence[uuid.UUID]


class RegistrySync:
    def __init__(
        self,
        repository: SyncRepository,
        workers: WorkerService,
        members: MemberService,
        products: ProductService,
        visits: VisitService,
    ) -> None:
        self.repository = repository
        self.workers = workers
        self.members = members
        self.products = products
        self.visits = visits

    async def load_workers(
        self, principal: Principal, ids: Ids, province: str | None
    ) -> dict[uuid.UUID, WorkerOut]:
        rows = await self.repository.workers(ids, province)
        return {w.id: self.workers.to_out(w, principal) for w in rows}

    async def load_groups(
        self, principal: Principal, ids: Ids, province: str | None
    ) -> dict[uuid.UUID, GroupOut]:
        return {
            g.id: GroupOut.model_validate(g) for g in await self.repository.groups(ids, province)
        }

    async def load_members(
        self, principal: Principal, ids: Ids, province: str | None
    ) -> dict[uuid.UUID, MemberOut]:
        rows = await self.repository.members(ids, province)
        return {m.id: self.members.to_out(m, w) for m, w in rows}

    async def load_products(
        self, principal: Principal, ids: Ids, province: str | None
    ) -> dict[uuid.UUID, ProductOut]:
        out = await self.products.to_out(await self.repository.products(ids, province))
        return {p.id: p for p in out}

    async def load_visits(
        self, principal: Principal, ids: Ids, province: str | None
    ) -> dict[uuid.UUID, VisitOut]:
        out = await self.visits.to_out(await self.repository.visits(ids, province))
        return {v.id: v for v in out}

    async def load_market_links(
        self, principal: Principal, ids: Ids, province: str | None
    ) -> dict[uuid.UUID, MarketLinkOut]:
        rows = await self.repository.market_links(ids, province)
        return {m.id: MarketLinkOut.model_validate(m) for m in rows}
