"""What a worker signed in with the national digital ID sees of their own registration."""

from __future__ import annotations

import uuid

from otog_shared.auth import Principal, worker_of
from otog_shared.errors import NotFound

from otog_registry.groups.models import Group, Membership
from otog_registry.members.repository import MemberRepository
from otog_registry.workers.models import Worker
from otog_registry.workers.repository import WorkerRepository


def worker_id_of(principal: Principal) -> uuid.UUID:
    worker_id = worker_of(principal)
    assert worker_id is not None  # CurrentWorker lets only workers in
    return worker_id


class MeService:
    def __init__(self, workers: WorkerRepository, members: MemberRepository) -> None:
        self.workers = workers
        self.members = members

    async def worker(self, principal: Principal) -> Worker:
        worker = await self.workers.get(worker_id_of(principal))
        if worker is None:
            raise NotFound("The signed-in worker is no longer registered.")
        return worker

    async def memberships(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> list[tuple[Membership, Group]]:
        """Every group the worker belongs or belonged to, whatever its province: a
        worker's own groups are never another province's data to them."""
        return await self.members.of_worker(
            worker_id_of(principal), province=None, after=after, limit=limit
        )
