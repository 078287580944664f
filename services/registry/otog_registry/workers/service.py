"""Registering and finding workers; national IDs are handled only here and in the importer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from otog_shared.auth import Principal, ensure_may_act_in, ensure_visible
from otog_shared.context import client_id_var, request_id_var
from otog_shared.errors import FieldError, NotFound, ProblemError, UnprocessableEntity

from otog_registry.access import province_scope
from otog_registry.audit.service import AuditLog, clean, diff
from otog_registry.geography.abolished import unknown_subdistrict_message
from otog_registry.geography.repository import GeographyRepository, Place
from otog_registry.ids import new_id
from otog_registry.pii import national_id
from otog_registry.pii.crypto import NationalIdProtector
from otog_registry.workers.models import Worker
from otog_registry.workers.repository import WorkerFilter, WorkerRepository
from otog_registry.workers.schemas import (
    PdpaBasis,
    SocialSecurity,
    WorkerCreate,
    WorkerOut,
    WorkerUpdate,
)

AUDITED_FIELDS = (
    "first_name_th",
    "last_name_th",
    "first_name_en",
    "last_name_en",
    "birth_date",
    "subdistrict_code",
    "district_code",
    "province_code",
    "phone",
    "social_security",
    "pdpa_basis",
    "consent_given_at",
)


class DuplicateWorker(ProblemError):
    status, slug, title = 409, "duplicate-worker", "Worker Already Registered"


def unknown_subdistrict(code: str, field: str = "body.subdistrict_code") -> UnprocessableEntity:
    return UnprocessableEntity(
        "The subdistrict code is not a current DOPA subdistrict.",
        errors=[FieldError(field=field, message=unknown_subdistrict_message(code))],
    )


def snapshot(worker: Worker) -> dict[str, Any]:
    return {f: getattr(worker, f) for f in AUDITED_FIELDS}


class WorkerService:
    def __init__(
        self,
        repository: WorkerRepository,
        geography: GeographyRepository,
        audit: AuditLog,
        protector: NationalIdProtector,
    ) -> None:
        self.repository = repository
        self.geography = geography
        self.audit = audit
        self.protector = protector

    def to_out(self, worker: Worker, principal: Principal) -> WorkerOut:
        nid = self.protector.decrypt(worker.national_id_encrypted)
        return WorkerOut(
            id=worker.id,
            national_id_masked=national_id.mask(nid),
            national_id=nid if principal.has("pii:read") else None,
            first_name_th=worker.first_name_th,
            last_name_th=worker.last_name_th,
            first_name_en=worker.first_name_en,
            last_name_en=worker.last_name_en,
            birth_date=worker.birth_date,
            subdistrict_code=worker.subdistrict_code,
            district_code=worker.district_code,
            province_code=worker.province_code,
            phone=worker.phone,
            social_security=SocialSecurity(worker.social_security),
            pdpa_basis=PdpaBasis(worker.pdpa_basis),
            consent_given_at=worker.consent_given_at,
            created_at=worker.created_at,
            updated_at=worker.updated_at,
        )

    async def _place(self, subdistrict_code: str) -> Place:
        place = await self.geography.place_of(subdistrict_code)
        if place is None:
            raise unknown_subdistrict(subdistrict_code)
        return place

    async def create(self, principal: Principal, data: WorkerCreate) -> Worker:
        place = await self._place(data.subdistrict_code)
        ensure_may_act_in(principal, place.province_code)
        digest = self.protector.lookup_hash(data.national_id)
        values = data.model_dump(exclude={"national_id"})
        values.update(
            id=data.id or new_id(),
            national_id_hmac=digest,
            national_id_encrypted=self.protector.encrypt(data.national_id),
            district_code=place.district_code,
            province_code=place.province_code,
            social_security=data.social_security.value,
            pdpa_basis=data.pdpa_basis.value,
            version=1,
            created_by=client_id_var.get(),
            created_request_id=request_id_var.get(),
        )
        worker = await self.repository.insert_if_new(values)
        if worker is None:
            existing = await self.repository.get_by_hmac(digest)
            extra: dict[str, Any] = {}
            if existing is not None and principal.sees_province(existing.province_code):
                extra["worker_id"] = str(existing.id)
            raise DuplicateWorker("This person is already registered.", **extra)
        await self.audit.record(
            "worker.created",
            "worker",
            worker.id,
            clean({"national_id": True, **snapshot(worker)}),
            province_code=worker.province_code,
        )
        return worker

    async def get(
        self, principal: Principal, worker_id: uuid.UUID, *, for_update: bool = False
    ) -> Worker:
        worker = await self.repository.get(worker_id, for_update=for_update)
        if worker is None:
            raise NotFound("Worker not found.")
        ensure_visible(principal, worker.province_code, "Worker")
        return worker

    async def find_by_national_id(self, principal: Principal, nid: str) -> Worker:
        worker = await self.repository.get_by_hmac(self.protector.lookup_hash(nid))
        if worker is None:
            raise NotFound("No worker with this national ID.")
        ensure_visible(principal, worker.province_code, "Worker")
        return worker

    async def find(
        self,
        principal: Principal,
        *,
        province: str | None,
        district: str | None,
        subdistrict: str | None,
        after: uuid.UUID | None,
        limit: int,
        ids: list[uuid.UUID] | None = None,
    ) -> list[Worker]:
        scope = province_scope(principal, province)
        if scope.empty:
            return []
        return await self.repository.find(
            WorkerFilter(scope.province, district, subdistrict, ids), after=after, limit=limit
        )

    async def update(self, principal: Principal, worker: Worker, patch: WorkerUpdate) -> Worker:
        before = snapshot(worker)
        # WorkerUpdate refuses null for the fields a worker cannot lose.
        changes = patch.model_dump(exclude_unset=True)
        if "subdistrict_code" in changes:
            place = await self._place(changes["subdistrict_code"])
            ensure_may_act_in(principal, place.province_code)
            changes["district_code"] = place.district_code
            changes["province_code"] = place.province_code
        for key, value in changes.items():
            setattr(worker, key, value.value if hasattr(value, "value") else value)
        basis = worker.pdpa_basis
        if basis == "consent" and worker.consent_given_at is None:
            raise UnprocessableEntity(
                "Consent must be recorded with its time.",
                errors=[
                    FieldError(
                        field="body.consent_given_at",
                        message="required when pdpa_basis is consent",
                    )
                ],
            )
        changed = diff(before, snapshot(worker))
        if changed:
            worker.version += 1
            worker.updated_at = datetime.now(UTC)
            await self.repository.session.flush()
            await self.audit.record(
                "worker.updated", "worker", worker.id, changed, province_code=worker.province_code
            )
        return worker
