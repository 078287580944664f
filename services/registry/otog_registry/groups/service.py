"""Occupation groups and their journey through the programme."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from otog_shared.auth import Principal, ensure_may_act_in, ensure_visible
from otog_shared.context import client_id_var, request_id_var
from otog_shared.errors import FieldError, NotFound, ProblemError, UnprocessableEntity
from otog_shared.outbox import record_event

from otog_registry.access import province_scope
from otog_registry.audit.service import AuditLog, clean, diff
from otog_registry.fiscal import current_fiscal_year
from otog_registry.geography.repository import GeographyRepository
from otog_registry.groups.models import Group, StageChange
from otog_registry.groups.repository import GroupFilter, GroupRepository
from otog_registry.groups.schemas import GroupCreate, GroupUpdate, StageChangeCreate
from otog_registry.groups.stages import Stage, allowed_targets
from otog_registry.ids import new_id
from otog_registry.workers.service import unknown_subdistrict

AUDITED_FIELDS = (
    "name_th",
    "name_en",
    "occupation",
    "subdistrict_code",
    "district_code",
    "province_code",
    "status",
    "contact_name",
    "contact_phone",
    "contact_email",
    "description",
)


class IllegalStageTransition(ProblemError):
    status, slug, title = 409, "illegal-stage-transition", "Illegal Stage Transition"


class PrototypeTaken(ProblemError):
    status, slug, title = 409, "prototype-taken", "Subdistrict Already Has a Prototype"


def snapshot(group: Group) -> dict[str, Any]:
    return {f: getattr(group, f) for f in AUDITED_FIELDS}


class GroupService:
    def __init__(
        self, repository: GroupRepository, geography: GeographyRepository, audit: AuditLog
    ) -> None:
        self.repository = repository
        self.geography = geography
        self.audit = audit

    async def create(self, principal: Principal, data: GroupCreate) -> Group:
        place = await self.geography.place_of(data.subdistrict_code)
        if place is None:
            raise unknown_subdistrict(data.subdistrict_code)
        ensure_may_act_in(principal, place.province_code)
        values = data.model_dump()
        values["occupation"] = data.occupation.value
        group = await self.repository.add(
            Group(
                id=data.id or new_id(),
                **values,
                district_code=place.district_code,
                province_code=place.province_code,
                status=Stage.registered.value,
                version=1,
                created_by=client_id_var.get(),
            )
        )
        # The registration is the first step of the journey's history.
        await self.repository.add_stage_change(
            StageChange(
                id=new_id(),
                group_id=group.id,
                from_stage=None,
                to_stage=Stage.registered.value,
                fiscal_year=current_fiscal_year(),
                actor=client_id_var.get(),
                request_id=request_id_var.get(),
            )
        )
        await self.audit.record(
            "group.created",
            "group",
            group.id,
            clean(snapshot(group)),
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "group.created",
            subject=f"/v1/groups/{group.id}",
            province_code=group.province_code,
            data={
                "group_id": group.id,
                "occupation": group.occupation,
                "subdistrict_code": group.subdistrict_code,
                "district_code": group.district_code,
                "province_code": group.province_code,
                "stage": group.status,
            },
        )
        return group

    async def get(
        self, principal: Principal, group_id: uuid.UUID, *, for_update: bool = False
    ) -> Group:
        group = await self.repository.get(group_id, for_update=for_update)
        if group is None:
            raise NotFound("Group not found.")
        ensure_visible(principal, group.province_code, "Group")
        return group

    async def find(
        self,
        principal: Principal,
        filters: GroupFilter,
        *,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Group]:
        scope = province_scope(principal, filters.province)
        if scope.empty:
            return []
        return await self.repository.find(
            GroupFilter(
                scope.province,
                filters.district,
                filters.subdistrict,
                filters.status,
                filters.occupation,
            ),
            after=after,
            limit=limit,
        )

    async def update(self, group: Group, patch: GroupUpdate) -> Group:
        before = snapshot(group)
        # GroupUpdate refuses null for the fields a group cannot lose.
        changes = patch.model_dump(exclude_unset=True)
        for key, value in changes.items():
            setattr(group, key, value.value if hasattr(value, "value") else value)
        changed = diff(before, snapshot(group))
        if changed:
            group.version += 1
            group.updated_at = datetime.now(UTC)
            await self.repository.session.flush()
            await self.audit.record(
                "group.updated", "group", group.id, changed, province_code=group.province_code
            )
        return group

    async def change_stage(self, group: Group, data: StageChangeCreate) -> StageChange:
        """Move a locked group to a new stage; see ``otog_registry.groups.stages``."""
        current = Stage(group.status)
        resumes_to: Stage | None = None
        if current == Stage.suspended:
            last = await self.repository.last_stage_change(group.id)
            if last is not None and last.from_stage is not None:
                resumes_to = Stage(last.from_stage)
        allowed = allowed_targets(current, resumes_to)
        if data.stage not in allowed:
            raise IllegalStageTransition(
                f"A group in stage {current.value!r} cannot move to {data.stage.value!r}.",
                current_stage=current.value,
                allowed_stages=[s.value for s in allowed],
            )
        this_year = current_fiscal_year()
        fiscal_year = data.fiscal_year or this_year
        if fiscal_year > this_year + 1:
            # Selections are made for this fiscal year or, ahead of time, the next.
            raise UnprocessableEntity(
                f"The fiscal year may be at most {this_year + 1}.",
                errors=[FieldError(field="body.fiscal_year", message="too far in the future")],
            )
        change = await self.repository.add_stage_change(
            StageChange(
                id=data.id or new_id(),
                group_id=group.id,
                from_stage=current.value,
                to_stage=data.stage.value,
                fiscal_year=fiscal_year,
                note=data.note,
                actor=client_id_var.get(),
                request_id=request_id_var.get(),
            )
        )
        if data.stage == Stage.prototype:
            claimed = await self.repository.claim_prototype(
                subdistrict_code=group.subdistrict_code,
                fiscal_year=fiscal_year,
                group_id=group.id,
                change_id=change.id,
            )
            if not claimed:
                holder = await self.repository.prototype_of(group.subdistrict_code, fiscal_year)
                raise PrototypeTaken(
                    f"Subdistrict {group.subdistrict_code} already has a prototype group "
                    f"for fiscal year {fiscal_year}.",
                    subdistrict_code=group.subdistrict_code,
                    fiscal_year=fiscal_year,
                    prototype_group_id=str(holder) if holder else None,
                )
        group.status = data.stage.value
        group.version += 1
        group.updated_at = datetime.now(UTC)
        await self.repository.session.flush()
        await self.audit.record(
            "group.stage_changed",
            "group",
            group.id,
            {
                "status": {"from": current.value, "to": data.stage.value},
                "fiscal_year": fiscal_year,
                "stage_change_id": str(change.id),
                "note": data.note,
            },
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "group.stage_changed",
            subject=f"/v1/groups/{group.id}",
            province_code=group.province_code,
            data={
                "group_id": group.id,
                "stage_change_id": change.id,
                "from_stage": current.value,
                "to_stage": data.stage.value,
                "fiscal_year": fiscal_year,
            },
        )
        return change

    async def stage_changes(
        self, group: Group, *, after: uuid.UUID | None, limit: int
    ) -> list[StageChange]:
        return await self.repository.list_stage_changes(group.id, after=after, limit=limit)
