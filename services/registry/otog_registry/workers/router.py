"""Informal workers (แรงงานอิสระ).

National IDs are personal data under the PDPA: they are stored encrypted,
found through a keyed hash, shown masked unless the caller has `pii:read`,
and never travel in URLs: look a person up with `POST /v1/workers/search`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from otog_shared.errors import problem_responses
from otog_shared.etag import check_if_match, etag_for
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Reader, Workers, Writer
from otog_registry.paging import after_id
from otog_registry.workers.models import Worker
from otog_registry.workers.schemas import (
    WorkerCreate,
    WorkerOut,
    WorkerPage,
    WorkerSearch,
    WorkerUpdate,
)

router = APIRouter(prefix="/v1/workers", tags=["workers"])


def worker_etag(worker: Worker) -> str:
    return etag_for("worker", worker.id, worker.version)


@router.post(
    "",
    status_code=201,
    summary="Register a worker",
    response_model=WorkerOut,
    responses=problem_responses(400, 401, 403, 409, 422),
)
async def create_worker(
    body: WorkerCreate, response: Response, principal: Writer, workers: Workers
) -> WorkerOut:
    """Registers a person once: the same national ID again is 409
    `/problems/duplicate-worker` (with `worker_id` when the caller may see that worker).
    A client bound to a province may register people of that province only (403)."""
    worker = await workers.create(principal, body)
    response.headers["ETag"] = worker_etag(worker)
    response.headers["Location"] = f"/v1/workers/{worker.id}"
    return workers.to_out(worker, principal)


@router.get(
    "",
    summary="List workers",
    response_model=WorkerPage,
    responses=problem_responses(401, 403, 422),
)
async def list_workers(
    principal: Reader,
    workers: Workers,
    page: Pagination,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$", examples=["15"])] = None,
    district: Annotated[str | None, Query(pattern=r"^[0-9]{4}$", examples=["1501"])] = None,
    subdistrict: Annotated[str | None, Query(pattern=r"^[0-9]{6}$", examples=["150114"])] = None,
) -> WorkerPage:
    """Workers in registration order, filtered by place. A client bound to a
    province sees only that province's workers."""
    rows = await workers.find(
        principal,
        province=province,
        district=district,
        subdistrict=subdistrict,
        after=after_id(page),
        limit=page.limit + 1,
    )
    items, cursor = paginate(rows, page, lambda w: [str(w.id)])
    return WorkerPage(items=[workers.to_out(w, principal) for w in items], next_cursor=cursor)


@router.post(
    "/search",
    summary="Find a worker by national ID",
    response_model=WorkerOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def search_workers(
    body: WorkerSearch, response: Response, principal: Reader, workers: Workers
) -> WorkerOut:
    """Exact lookup by the 13-digit national ID, sent in the body so that it never
    appears in a URL or an access log. 404 when nobody (visible to the caller) has it."""
    worker = await workers.find_by_national_id(principal, body.national_id)
    response.headers["ETag"] = worker_etag(worker)
    return workers.to_out(worker, principal)


@router.get(
    "/{worker_id}",
    summary="Get a worker",
    response_model=WorkerOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_worker(
    worker_id: uuid.UUID, response: Response, principal: Reader, workers: Workers
) -> WorkerOut:
    """One worker. `national_id` is filled in only for callers with `pii:read`."""
    worker = await workers.get(principal, worker_id)
    response.headers["ETag"] = worker_etag(worker)
    return workers.to_out(worker, principal)


@router.patch(
    "/{worker_id}",
    summary="Update a worker",
    response_model=WorkerOut,
    responses=problem_responses(400, 401, 403, 404, 412, 422),
)
async def update_worker(
    worker_id: uuid.UUID,
    body: WorkerUpdate,
    request: Request,
    response: Response,
    principal: Writer,
    workers: Workers,
) -> WorkerOut:
    """Changes names, birth date, place, phone, social-security status or PDPA basis.
    Send the `ETag` you read as `If-Match`: a stale one is 412."""
    worker = await workers.get(principal, worker_id, for_update=True)
    check_if_match(request, worker_etag(worker))
    worker = await workers.update(principal, worker, body)
    response.headers["ETag"] = worker_etag(worker)
    return workers.to_out(worker, principal)
