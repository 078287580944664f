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
from otog_registry.members.repository import MemberRepository
from otog_registry.members.service import MemberService
from otog_registry.pii.crypto import NationalIdProtector
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
