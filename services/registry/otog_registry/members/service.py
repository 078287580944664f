"""Group membership: roles, at most one current leader, history kept on removal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from otog_shared.auth import Principal
from otog_shared.client_ids.service import id_conflict
from otog_shared.context import client_id_var
from otog_shared.errors import Conflict, FieldError, NotFound, ProblemError, UnprocessableEntity
from otog_shared.outbox import record_event

from otog_registry.audit.service import AuditLog
from otog_registry.groups.models import Group, Membership
from otog_registry.groups.stages import Stage
from otog_registry.ids import new_id
from otog_registry.members.repository import MemberRepository
from otog_registry.members.schemas import MemberCreate, MemberOut, MemberWorker, Role
from otog_registry.pii import national_id
from otog_registry.pii.crypto import NationalIdProtector
from otog_registry.workers.models import Worker
from otog_registry.workers.repository import WorkerRepository


class AlreadyMember(ProblemError):
    status, slug, title = 409, "already-member", "Already a Member"


class LeaderExists(ProblemError):
    status, slug, title = 409, "leader-exists", "Group Already Has a Leader"


class MemberService:
    def __init__(
        self,
        repository: MemberRepository,
        workers: WorkerRepository,
        audit: AuditLog,
        protector: NationalIdProtector,
    ) -> None:
        self.repository = repository
        self.workers = workers
        self.audit = audit
        self.protector = protector

    def to_out(self, membership: Membership, worker: Worker) -> MemberOut:
        return MemberOut(
            id=membership.id,
            group_id=membership.group_id,
            worker_id=membership.worker_id,
            role=Role(membership.role),
            joined_at=membership.joined_at,
            left_at=membership.left_at,
            worker=MemberWorker(
                first_name_th=worker.first_name_th,
                last_name_th=worker.last_name_th,
                national_id_masked=national_id.mask(
                    self.protector.decrypt(worker.national_id_encrypted)
                ),
            ),
        )

    async def add(
        self, principal: Principal, group: Group, data: MemberCreate
    ) -> tuple[Membership, Worker]:
        if group.status == Stage.dissolved.value:
            raise Conflict("A dissolved group takes no new members.", current_stage=group.status)
        worker = await self.workers.get(data.worker_id)
        if worker is None or not principal.sees_province(worker.province_code):
            raise UnprocessableEntity(
                "No such worker.",
                errors=[FieldError(field="body.worker_id", message="unknown worker")],
            )
        membership = await self.repository.insert_if_allowed(
            {
                "id": data.id or new_id(),
                "group_id": group.id,
                "worker_id": worker.id,
                "role": data.role.value,
                "added_by": client_id_var.get(),
            }
        )
        if membership is None:
            # A unique index refused the row; say which rule it was.
            if await self.repository.current(group.id, worker.id) is not None:
                raise AlreadyMember(
                    "The worker is already a member of this group.", worker_id=str(worker.id)
                )
            leader = await self.repository.current_leader(group.id)
            if leader is None and data.id is not None:
                # Neither rule refused it: the client's id names a membership already.
                raise id_conflict()
            raise LeaderExists(
                "The group already has a leader; remove them first.",
                leader_worker_id=str(leader.worker_id) if leader else None,
            )
        await self.audit.record(
            "group.member_added",
            "group",
            group.id,
            {
                "worker_id": str(worker.id),
                "role": data.role.value,
                "membership_id": str(membership.id),
            },
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "group.member_added",
            subject=f"/v1/groups/{group.id}/members/{worker.id}",
            province_code=group.province_code,
            data={
                "group_id": group.id,
                "worker_id": worker.id,
                "membership_id": membership.id,
                "role": data.role.value,
            },
        )
        return membership, worker

    async def remove(self, group: Group, worker_id: uuid.UUID) -> None:
        current = await self.repository.current(group.id, worker_id)
        ended = (
            await self.repository.end(current.id, at=datetime.now(UTC), by=client_id_var.get())
            if current
            else None
        )
        if ended is None:
            raise NotFound("The worker is not a current member of this group.")
        await self.audit.record(
            "group.member_removed",
            "group",
            group.id,
            {"worker_id": str(worker_id), "role": ended.role, "membership_id": str(ended.id)},
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "group.member_removed",
            subject=f"/v1/groups/{group.id}/members/{worker_id}",
            province_code=group.province_code,
            data={
                "group_id": group.id,
                "worker_id": worker_id,
                "membership_id": ended.id,
                "role": ended.role,
            },
        )

    async def of_group(
        self,
        group: Group,
        *,
        include_former: bool,
        role: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[tuple[Membership, Worker]]:
        return await self.repository.of_group(
            group.id, include_former=include_former, role=role, after=after, limit=limit
        )

    async def of_worker(
        self, principal: Principal, worker: Worker, *, after: uuid.UUID | None, limit: int
    ) -> list[tuple[Membership, Group]]:
        return await self.repository.of_worker(
            worker.id, province=principal.province, after=after, limit=limit
        )
