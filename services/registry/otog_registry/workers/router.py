"""Informal workers (แรงงานอิสระ).

National IDs are personal data under the PDPA: they are stored encrypted,
found through a keyed hash, shown masked unless the caller has `pii:read`,
and never travel in URLs: look a person up with `POST /v1/workers/search`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from otog_shared.errors import ProblemError, problem_responses
from otog_shared.etag import check_if_match, etag_for
from otog_shared.idempotency.http import IdempotentRoute, idempotency_exempt
from otog_shared.pagination import Pagination, paginate

from otog_registry.deps import Importer, Reader, Workers, Writer
from otog_registry.paging import after_id
from otog_registry.workers.models import Worker
from otog_registry.workers.schemas import (
    ImportReport,
    WorkerCreate,
    WorkerOut,
    WorkerPage,
    WorkerSearch,
    WorkerUpdate,
)

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/workers", tags=["workers"])


# Ids per lookup: a query string of this many stays well inside every proxy's
# request-line limit (nginx: 8 KB).
MAX_IDS = 100

# The import's body is CSV, not JSON; its schema is added to the document's
# components by ``otog_registry.main`` so that the operation refers to it by name.
WORKERS_CSV_SCHEMA = {
    "title": "WorkersCsv",
    "type": "string",
    "description": (
        "UTF-8 CSV, header row first: national_id, first_name_th, last_name_th, birth_date, "
        "subdistrict_code (required), first_name_en, last_name_en, phone, social_security, "
        "pdpa_basis, consent_given_at (optional)."
    ),
}


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported Media Type"


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


@router.post(
    "/import",
    summary="Import workers from CSV",
    response_model=ImportReport,
    responses=problem_responses(400, 401, 403, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"$ref": "#/components/schemas/WorkersCsv"},
                    "example": (
                        "national_id,first_name_th,last_name_th,birth_date,subdistrict_code\n"
                        "1101700203450,สมศรี,ใจดี,1985-04-12,150114\n"
                    ),
                }
            },
        }
    },
)
@idempotency_exempt
async def import_workers(request: Request, principal: Writer, importer: Importer) -> ImportReport:
    """Registers many workers from a CSV file (UTF-8, with or without a byte-order
    mark, comma-separated, RFC 4180 quoting). The header row names the columns, with the
    same names as `POST /v1/workers`: `national_id`, `first_name_th`, `last_name_th`,
    `birth_date` (`YYYY-MM-DD`), `subdistrict_code` (required) and `first_name_en`,
    `last_name_en`, `phone`, `social_security`, `pdpa_basis`, `consent_given_at` (optional;
    an empty cell takes the default).

    The body is streamed and inserted in batches, each committed on its own, so a file of
    a million rows is fine. Every row is validated: good rows are kept, bad rows are
    reported with their line number (the header is line 1) and reasons, and people already
    registered (before, or earlier in the same file) are counted as `duplicates`.
    Re-sending the same file, even twice at once, creates nobody twice.

    The report lists at most the first 1,000 rejected lines; `rejected_count` counts them
    all and `rejected_truncated` says when the list is cut. A bad header is 422 before
    anything is stored. A client bound to a province may import only people of that
    province (other rows are rejected)."""
    content_type = request.headers.get("content-type", "")
    media, _, params = content_type.partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
    if media.strip().lower() not in ("text/csv", "application/csv") or charset not in (
        "utf-8",
        "utf8",
    ):
        raise UnsupportedMediaType("Send the file as text/csv in UTF-8.")
    return await importer.run(principal, request.stream())


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
    worker_id: Annotated[
        list[uuid.UUID] | None,
        Query(
            alias="id",
            max_length=MAX_IDS,
            description=f"Only these workers (repeat the parameter, at most {MAX_IDS}): "
            "look up many known ids in one call. Ids nobody (visible to the caller) has "
            "are simply absent.",
        ),
    ] = None,
) -> WorkerPage:
    """Workers in registration order, filtered by place. A client bound to a
    province sees only that province's workers."""
    rows = await workers.find(
        principal,
        province=province,
        district=district,
        subdistrict=subdistrict,
        ids=worker_id,
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
@idempotency_exempt
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
