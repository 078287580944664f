"""`GET /v1/sync/{workers,groups,members,products,visits,market-links}`
(see ``otog_shared.sync``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from otog_shared.db import DbSession
from otog_shared.sync.http import add_sync_routes
from otog_shared.sync.service import Loader, SyncCollection

from otog_registry.deps import Members, Products, Visits, Workers
from otog_registry.groups.schemas import GroupOut
from otog_registry.market.schemas import MarketLinkOut
from otog_registry.members.schemas import MemberOut
from otog_registry.products.schemas import ProductOut
from otog_registry.sync.repository import SyncRepository
from otog_registry.sync.service import RegistrySync
from otog_registry.visits.schemas import VisitOut
from otog_registry.workers.schemas import WorkerOut

router = APIRouter()


async def registry_sync(
    session: DbSession, workers: Workers, members: Members, products: Products, visits: Visits
) -> RegistrySync:
    return RegistrySync(SyncRepository(session), workers, members, products, visits)


Sync = Annotated[RegistrySync, Depends(registry_sync)]


def _loader(pick: Callable[[RegistrySync], Loader[Any]]) -> Callable[..., Any]:
    async def loader(sync: Sync) -> Loader[Any]:
        return pick(sync)

    return loader


SCOPE = "registry:read"
add_sync_routes(
    router,
    [
        SyncCollection(
            "workers",
            SCOPE,
            WorkerOut,
            _loader(lambda s: s.load_workers),
            "Workers as `GET /v1/workers/{id}` shows them (`national_id` only with "
            "`pii:read`). A worker who moves to another province is a tombstone in the old one.",
        ),
        SyncCollection(
            "groups", SCOPE, GroupOut, _loader(lambda s: s.load_groups), "Occupation groups."
        ),
        SyncCollection(
            "members",
            SCOPE,
            MemberOut,
            _loader(lambda s: s.load_members),
            "Current group memberships, as `GET /v1/groups/{id}/members` lists them; a member "
            "who left the group is a tombstone.",
        ),
        SyncCollection(
            "products",
            SCOPE,
            ProductOut,
            _loader(lambda s: s.load_products),
            "Products with their certifications.",
        ),
        SyncCollection(
            "visits", SCOPE, VisitOut, _loader(lambda s: s.load_visits), "Field visits."
        ),
        SyncCollection(
            "market-links",
            SCOPE,
            MarketLinkOut,
            _loader(lambda s: s.load_market_links),
            "Market links and their sales.",
        ),
    ],
)
