"""Per-request construction of services (the request's session, app-wide keys).

The providers are `async def` although they never await: FastAPI runs a plain
`def` dependency in a worker thread, a thread hop per provider per request."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession, spare_session

from otog_registry.audit.service import AuditLog
from otog_registry.geography.repository import GeographyRepository
from otog_registry.groups.repository import GroupRepository
from otog_registry.groups.service import GroupService
from otog_registry.market.repository import MarketLinkRepository
from otog_registry.market.service import MarketService
from otog_registry.members.repository import MemberRepository
from otog_registry.members.service import MemberService
from otog_registry.pii.crypto import NationalIdProtector
from otog_registry.products.repository import ProductRepository
from otog_registry.products.service import ProductService
from otog_registry.settings import RegistrySettings
from otog_registry.visits.repository import VisitRepository
from otog_registry.visits.service import VisitService
from otog_registry.workers.importer import WorkerImporter, WriteLane
from otog_registry.workers.repository import WorkerRepository
from otog_registry.workers.service import WorkerService

Reader = Annotated[Principal, Security(authenticate, scopes=["registry:read"])]
Writer = Annotated[Principal, Security(authenticate, scopes=["registry:write"])]
MarketWriter = Annotated[Principal, Security(authenticate, scopes=["market:write"])]
Admin = Annotated[Principal, Security(authenticate, scopes=["admin"])]


async def national_ids(request: Request) -> NationalIdProtector:
    protector: NationalIdProtector = request.app.state.national_ids
    return protector


async def worker_service(
    session: DbSession, protector: Annotated[NationalIdProtector, Depends(national_ids)]
) -> WorkerService:
    return WorkerService(
        WorkerRepository(session), GeographyRepository(session), AuditLog(session), protector
    )


Workers = Annotated[WorkerService, Depends(worker_service)]


async def worker_importer(
    request: Request,
    session: DbSession,
    protector: Annotated[NationalIdProtector, Depends(national_ids)],
) -> AsyncIterator[WorkerImporter]:
    """The import writes through the request's session and, when configured and
    the pool has them free, further sessions (each batch committed on its lane)."""
    settings: RegistrySettings = request.app.state.settings
    async with contextlib.AsyncExitStack() as stack:
        lanes = [WriteLane(WorkerRepository(session), AuditLog(session), session.commit)]
        for _ in range(settings.import_write_lanes - 1):
            spare = spare_session(request)
            if spare is None:
                break  # the pool is busy: this import writes through fewer lanes
            extra = await stack.enter_async_context(spare)
            lanes.append(WriteLane(WorkerRepository(extra), AuditLog(extra), extra.commit))
        yield WorkerImporter(
            lanes,
            GeographyRepository(session),
            protector,
            batch_size=settings.import_batch_size,
            report_limit=settings.import_report_limit,
            max_record_chars=settings.import_max_record_bytes,
        )


Importer = Annotated[WorkerImporter, Depends(worker_importer, scope="function")]


async def group_service(session: DbSession) -> GroupService:
    return GroupService(GroupRepository(session), GeographyRepository(session), AuditLog(session))


Groups = Annotated[GroupService, Depends(group_service)]


async def member_service(
    session: DbSession, protector: Annotated[NationalIdProtector, Depends(national_ids)]
) -> MemberService:
    return MemberService(
        MemberRepository(session), WorkerRepository(session), AuditLog(session), protector
    )


Members = Annotated[MemberService, Depends(member_service)]


async def product_service(session: DbSession) -> ProductService:
    return ProductService(ProductRepository(session), GroupRepository(session), AuditLog(session))


Products = Annotated[ProductService, Depends(product_service)]


async def visit_service(session: DbSession) -> VisitService:
    return VisitService(VisitRepository(session), AuditLog(session))


Visits = Annotated[VisitService, Depends(visit_service)]


async def market_service(session: DbSession) -> MarketService:
    return MarketService(
        MarketLinkRepository(session), ProductRepository(session), AuditLog(session)
    )


Market = Annotated[MarketService, Depends(market_service)]
