"""Photos of products (public, shown in the catalogue) and of field visits (evidence,
read only like the visit). The client chooses each photo's id and sends the raw image
(`image/jpeg`, `image/png` or `image/webp`, at most 10 MB and 40 megapixels) with
`PUT`: sending it again after a lost answer is harmless (200, nothing changes); other
bytes under the same id are 409 `/problems/id-conflict`. Served images are re-encoded
from the pixels with orientation applied and without any metadata (no EXIF, no GPS);
`?size=thumb` gives 320 px on the long side."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from otog_shared.auth import Principal, authenticate_optional
from otog_shared.db import DbSession
from otog_shared.errors import ProblemError, problem_responses
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.objectstore import ObjectMissing, Objects

from otog_registry.audit.service import AuditLog
from otog_registry.deps import Writer
from otog_registry.photos.images import MEDIA_TYPES
from otog_registry.photos.repository import PhotoRepository
from otog_registry.photos.schemas import PhotoOut, photo_out
from otog_registry.photos.service import Owner, PhotoService
from otog_registry.photos.upload import spool
from otog_registry.settings import RegistrySettings

router = APIRouter(route_class=IdempotentRoute, prefix="/v1", tags=["photos"])

# A photo id's bytes never change (other bytes need another id): caches may keep it.
PUBLIC_CACHE = "public, max-age=31536000, immutable"
# Visit photos are evidence with the visit's access rules: no shared cache, no copy kept.
PRIVATE_CACHE = "private, no-store"

_BINARY = {"schema": {"type": "string", "format": "binary"}}
IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The raw image, at most 10 MB and 40 megapixels.",
        "content": {media_type: _BINARY for media_type in sorted(MEDIA_TYPES)},
    }
}


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported Media Type"


def _limiter(request: Request) -> anyio.CapacityLimiter:
    limiter: anyio.CapacityLimiter | None = getattr(request.app.state, "photo_decoding", None)
    if limiter is None:
        settings: RegistrySettings = request.app.state.settings
        limiter = anyio.CapacityLimiter(settings.photo_decode_concurrency)
        request.app.state.photo_decoding = limiter
    return limiter


async def photo_service(request: Request, session: DbSession, store: Objects) -> PhotoService:
    return PhotoService(PhotoRepository(session), store, AuditLog(session), _limiter(request))


Photos = Annotated[PhotoService, Depends(photo_service)]


def _check_content_type(request: Request) -> None:
    given = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if given not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            "Send the photo as the raw body with Content-Type image/jpeg, image/png or image/webp.",
            detail_th="ส่งรูปภาพเป็นเนื้อหาของคำขอ โดยระบุ Content-Type เป็น image/jpeg, "
            "image/png หรือ image/webp",
        )


async def _put(
    request: Request, response: Response, photos: PhotoService, owner: Owner, photo_id: uuid.UUID
) -> PhotoOut:
    _check_content_type(request)
    upload = await spool(request.stream())
    try:
        photo, created = await photos.put(owner, photo_id, upload)
    finally:
        upload.close()
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/v1/photos/{photo.id}"
    return photo_out(photo)


PUT_RESPONSES = {
    200: {"description": "The same bytes were already stored under this id: nothing changed."},
    **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
}


@router.put(
    "/products/{product_id}/photos/{photo_id}",
    status_code=201,
    summary="Upload a product photo",
    response_model=PhotoOut,
    responses=PUT_RESPONSES,
    openapi_extra=IMAGE_BODY,
)
async def put_product_photo(
    product_id: uuid.UUID,
    photo_id: uuid.UUID,
    request: Request,
    response: Response,
    principal: Writer,
    photos: Photos,
) -> PhotoOut:
    """Adds a photo to the product (public: it appears in the catalogue)."""
    owner = await photos.product_owner(principal, product_id)
    return await _put(request, response, photos, owner, photo_id)


@router.put(
    "/visits/{visit_id}/photos/{photo_id}",
    status_code=201,
    summary="Upload a field visit photo",
    response_model=PhotoOut,
    responses=PUT_RESPONSES,
    openapi_extra=IMAGE_BODY,
)
async def put_visit_photo(
    visit_id: uuid.UUID,
    photo_id: uuid.UUID,
    request: Request,
    response: Response,
    principal: Writer,
    photos: Photos,
) -> PhotoOut:
    """Adds a photo to the visit, readable only by those who may read the visit. Its
    location, if any, belongs in the visit's `location`, not in the photo: the
    photo's EXIF GPS is removed."""
    owner = await photos.visit_owner(principal, visit_id)
    return await _put(request, response, photos, owner, photo_id)


@router.delete(
    "/products/{product_id}/photos/{photo_id}",
    status_code=204,
    summary="Delete a product photo",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_product_photo(
    product_id: uuid.UUID,
    photo_id: uuid.UUID,
    principal: Writer,
    photos: Photos,
    background: BackgroundTasks,
) -> Response:
    """Removes the photo from the product and the catalogue."""
    owner = await photos.product_owner(principal, product_id)
    return await _delete(photos, owner, photo_id, background)


@router.delete(
    "/visits/{visit_id}/photos/{photo_id}",
    status_code=204,
    summary="Delete a field visit photo",
    responses=problem_responses(401, 403, 404, 422),
)
async def delete_visit_photo(
    visit_id: uuid.UUID,
    photo_id: uuid.UUID,
    principal: Writer,
    photos: Photos,
    background: BackgroundTasks,
) -> Response:
    """Removes the photo from the visit."""
    owner = await photos.visit_owner(principal, visit_id)
    return await _delete(photos, owner, photo_id, background)


async def _delete(
    photos: PhotoService, owner: Owner, photo_id: uuid.UUID, background: BackgroundTasks
) -> Response:
    keys = await photos.remove(owner, photo_id)
    # Background tasks run after the response, so after the commit (DbSession
    # commits before the endpoint's answer goes out).
    background.add_task(photos.discard, keys)
    return Response(status_code=204, background=background)


@router.get(
    "/photos/{photo_id}",
    summary="Get a photo",
    response_class=Response,
    responses={
        200: {
            "description": "The re-encoded image, without metadata.",
            "content": {media_type: _BINARY for media_type in sorted(MEDIA_TYPES)},
        },
        304: {"description": "`If-None-Match` matched: the cached copy is current."},
        **problem_responses(401, 403, 404, 422),
    },
)
async def get_photo(
    photo_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal | None, Depends(authenticate_optional)],
    photos: Photos,
    size: Annotated[
        Literal["full", "thumb"], Query(description="`thumb`: 320 px on the long side.")
    ] = "full",
) -> Response:
    """A product's photo to anyone (cacheable for good: a photo id's bytes never
    change); a visit's photo only with `registry:read` in the visit's province (404
    otherwise, also without a token)."""
    photo = await photos.readable(principal, photo_id)
    etag = f'"{photo.content_sha256}{"-thumb" if size == "thumb" else ""}"'
    headers = {
        "ETag": etag,
        "Cache-Control": PUBLIC_CACHE if photo.product_id is not None else PRIVATE_CACHE,
    }
    if photo.visit_id is not None:
        headers["Vary"] = "Authorization"
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    key = photo.thumb_key if size == "thumb" else photo.object_key
    try:
        stored = await photos.store.open(key)
    except ObjectMissing as exc:
        # A committed row whose object is gone: storage lost it; say so, not 404.
        raise ProblemError(
            f"The stored image of photo {photo_id} is missing.",
            detail_th=f"ไม่พบไฟล์รูปภาพ {photo_id} ในที่เก็บไฟล์",
        ) from exc
    headers["Content-Length"] = str(stored.size)
    return StreamingResponse(stored.chunks, media_type=photo.media_type, headers=headers)
