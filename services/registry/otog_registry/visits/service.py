from __future__ import annotations

import uuid

from otog_shared.context import client_id_var
from otog_shared.errors import NotFound
from otog_shared.outbox import record_event

from otog_registry.audit.service import AuditLog, clean
from otog_registry.groups.models import Group
from otog_registry.ids import new_id
from otog_registry.photos.repository import PhotoRepository
from otog_registry.photos.schemas import photo_out
from otog_registry.visits.models import FieldVisit
from otog_registry.visits.repository import VisitRepository
from otog_registry.visits.schemas import Location, VisitCreate, VisitOut


class VisitService:
    def __init__(self, repository: VisitRepository, audit: AuditLog) -> None:
        self.repository = repository
        self.audit = audit

    async def record(self, group: Group, data: VisitCreate) -> FieldVisit:
        values = data.model_dump(exclude={"location"})
        if data.location is not None:
            values["location_lat"] = data.location.lat
            values["location_lon"] = data.location.lon
        visit = await self.repository.add(
            FieldVisit(
                id=data.id or new_id(),
                group_id=group.id,
                recorded_by=client_id_var.get(),
                **values,
            )
        )
        await self.audit.record(
            "group.visited",
            "group",
            group.id,
            clean({"visit_id": visit.id, **data.model_dump()}),
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "visit.recorded",
            subject=f"/v1/groups/{group.id}/visits/{visit.id}",
            province_code=group.province_code,
            data={
                "visit_id": visit.id,
                "group_id": group.id,
                "visited_on": data.visited_on,
                "progress_percent": data.progress_percent,
                "next_visit_on": data.next_visit_on,
            },
        )
        return visit

    async def get(self, group: Group, visit_id: uuid.UUID) -> FieldVisit:
        visit = await self.repository.get(visit_id)
        if visit is None or visit.group_id != group.id:
            raise NotFound("Visit not found.")
        return visit

    async def of_group(
        self, group: Group, *, after: uuid.UUID | None, limit: int
    ) -> list[FieldVisit]:
        return await self.repository.of_group(group.id, after=after, limit=limit)

    async def to_out(self, visits: list[FieldVisit]) -> list[VisitOut]:
        photos = await PhotoRepository(self.repository.session).of_visits([v.id for v in visits])
        out = []
        for visit in visits:
            item = VisitOut.model_validate(visit)
            if visit.location_lat is not None and visit.location_lon is not None:
                item.location = Location(lat=visit.location_lat, lon=visit.location_lon)
            item.photos = [photo_out(p) for p in photos.get(visit.id, [])]
            out.append(item)
        return out
