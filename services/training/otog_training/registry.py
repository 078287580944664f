"""What the training service asks the registry, behind one small typed gateway.

Every call goes through ``otog_shared.http.ServiceClient`` (timeouts, request id,
retries for GETs); when the registry cannot be reached it raises
``DependencyUnavailable`` (503). Callers ask before they write anything, so a
down registry never leaves half-made data behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from otog_shared.coalesce import Coalescer
from otog_shared.http import ServiceClient

from otog_training.problems import RegistryUnavailable

# The registry's largest page.
MEMBERSHIP_PAGE = 200
# The most ids the registry takes in one lookup of workers.
WORKER_IDS_PER_CALL = 100

# A group in these journey stages may no longer take part in the programme.
INELIGIBLE_GROUP_STATUSES = frozenset({"suspended", "dissolved"})


@dataclass(frozen=True)
class WorkerRef:
    id: uuid.UUID
    province_code: str | None
    first_name_th: str | None
    last_name_th: str | None


def _worker_ref(body: dict[str, Any]) -> WorkerRef:
    try:
        return WorkerRef(
            id=uuid.UUID(str(body["id"])),
            province_code=body.get("province_code"),
            first_name_th=body.get("first_name_th"),
            last_name_th=body.get("last_name_th"),
        )
    except (KeyError, ValueError) as exc:
        raise RegistryUnavailable("The registry gave an unreadable answer.") from exc


@dataclass(frozen=True)
class MembershipRef:
    group_id: uuid.UUID
    group_status: str
    current: bool

    @property
    def eligible(self) -> bool:
        return self.group_status not in INELIGIBLE_GROUP_STATUSES


@dataclass(frozen=True)
class GroupRef:
    id: uuid.UUID
    status: str
    province_code: str | None
    name_th: str | None

    @property
    def eligible(self) -> bool:
        return self.status not in INELIGIBLE_GROUP_STATUSES


class RegistryGateway:
    def __init__(
        self,
        client: ServiceClient,
        worker_lookups: Coalescer[uuid.UUID, WorkerRef] | None = None,
    ) -> None:
        self.client = client
        self.worker_lookups = worker_lookups

    @classmethod
    def from_request(cls, request: Request) -> RegistryGateway:
        state = request.app.state
        if not state.settings.registry_lookups_coalesced:
            return cls(state.registry)
        lookups: Coalescer[uuid.UUID, WorkerRef] | None = getattr(state, "worker_lookups", None)
        if lookups is None:
            # One per process, made on first use: it holds no resources.
            lookups = Coalescer(
                "registry_workers", cls(state.registry).get_workers, max_keys=WORKER_IDS_PER_CALL
            )
            state.worker_lookups = lookups
        return cls(state.registry, lookups)

    async def get_worker(self, worker_id: uuid.UUID) -> WorkerRef | None:
        if self.worker_lookups is not None:
            return await self.worker_lookups.get(worker_id)
        body = await self.client.get_resource(f"/v1/workers/{worker_id}")
        if body is None:
            return None
        return _worker_ref(body)

    async def get_workers(self, worker_ids: list[uuid.UUID]) -> dict[uuid.UUID, WorkerRef]:
        """The workers among ``worker_ids`` the registry knows, in one call."""
        query = [("id", str(worker_id)) for worker_id in worker_ids]
        query.append(("limit", str(len(worker_ids))))
        # A list is never a 404: None here is as unreadable as a body without items.
        body = await self.client.get_resource(f"/v1/workers?{urlencode(query)}") or {}
        try:
            found = [_worker_ref(item) for item in body["items"]]
        except (KeyError, TypeError) as exc:
            raise RegistryUnavailable("The registry gave an unreadable answer.") from exc
        return {worker.id: worker for worker in found}

    async def get_group(self, group_id: uuid.UUID) -> GroupRef | None:
        body = await self.client.get_resource(f"/v1/groups/{group_id}")
        if body is None:
            return None
        try:
            return GroupRef(
                id=uuid.UUID(str(body["id"])),
                status=str(body["status"]),
                province_code=body.get("province_code"),
                name_th=body.get("name_th"),
            )
        except (KeyError, ValueError) as exc:
            raise RegistryUnavailable("The registry gave an unreadable answer.") from exc

    async def get_memberships(self, worker_id: uuid.UUID) -> list[MembershipRef] | None:
        """Every group the worker belongs or belonged to; None when the registry knows
        no such worker. A worker has a handful, so this is nearly always one page."""
        found: list[MembershipRef] = []
        query: dict[str, str] = {"limit": str(MEMBERSHIP_PAGE)}
        while True:
            path = f"/v1/workers/{worker_id}/memberships?{urlencode(query)}"
            body = await self.client.get_resource(path)
            if body is None:
                return None
            try:
                found += [
                    MembershipRef(
                        group_id=uuid.UUID(str(item["group_id"])),
                        group_status=str(item["group_status"]),
                        current=item.get("left_at") is None,
                    )
                    for item in body["items"]
                ]
                cursor = body.get("next_cursor")
            except (KeyError, TypeError, ValueError) as exc:
                raise RegistryUnavailable("The registry gave an unreadable answer.") from exc
            if not cursor:
                return found
            query["cursor"] = str(cursor)
