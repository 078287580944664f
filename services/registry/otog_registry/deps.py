"""Per-request construction of services (the request's session, app-wide keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession

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
from otog_registry.visits.repository import VisitRepository
from otog_registry.visits.service import VisitService
from otog_registry.workers.repository import WorkerRepository
from otog_registry.workers.service import WorkerService

Reader = Annotated[Principal, Security(authenticate, scopes=["registry:read"])]
Writer = Annotated[Principal, Security(authenticate, scopes=["registry:write"])]
MarketWriter = Annotated[Principal, Security(authenticate, scopes=["market:write"])]
Admin = Annotated[Principal, Security(authenticate, scopes=["admin"])]


def national_ids(request: Request) -> NationalIdProtector:
    protector: NationalIdProtector = request.app.state.national_ids
    return protector


def worker_service(
    session: DbSession, protector: Annotated[NationalIdProtector, Depends(national_ids)]
) -> WorkerService:
    return WorkerService(
        WorkerRepository(session), GeographyRepository(session), AuditLog(session), protector
    )


Workers = Annotated[WorkerService, Depends(worker_service)]


def group_service(session: DbSession) -> GroupService:
    return GroupService(GroupRepository(session), GeographyRepository(session), AuditLog(session))


Groups = Annotated[GroupService, Depends(group_service)]


def member_service(
    session: DbSession, protector: Annotated[NationalIdProtector, Depends(national_ids)]
) -> MemberService:
    return MemberService(
        MemberRepository(session), WorkerRepository(session), AuditLog(session), protector
    )


Members = Annotated[MemberService, Depends(member_service)]


def product_service(session: DbSession) -> ProductService:
    return ProductService(ProductRepository(session), GroupRepository(session), AuditLog(session))


Products = Annotated[ProductService, Depends(product_service)]


def visit_service(session: DbSession) -> VisitService:
    return VisitService(VisitRepository(session), AuditLog(session))


Visits = Annotated[VisitService, Depends(visit_service)]


def market_service(session: DbSession) -> MarketService:
    return MarketService(
        MarketLinkRepository(session), ProductRepository(session), AuditLog(session)
    )


Market = Annotated[MarketService, Depends(market_service)]
