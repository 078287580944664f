"""Photos of products and field visits: uploaded once under the client's id,
re-encoded, stored as objects, served without metadata."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import anyio
from otog_shared.auth import Principal, ensure_visible
from otog_shared.client_ids.errors import IdConflict
from otog_shared.context import client_id_var
from otog_shared.errors import NotFound, UnprocessableEntity
from otog_shared.objectstore import ObjectStore
from sqlalchemy import select

from otog_registry.audit.service import AuditLog
from otog_registry.groups.models import Group
from otog_registry.photos.images import EXTENSIONS, Encoded, ImageRefused, reencode
from otog_registry.photos.models import Photo
from otog_registry.photos.repository import PhotoRepository
from otog_registry.photos.upload import Spooled
from otog_registry.products.models import Product
from otog_registry.visits.models import FieldVisit

READ_SCOPE = "registry:read"


@dataclass(frozen=True)
class Owner:
    kind: str  # "product" | "visit"
    id: uuid.UUID
    group: Group


class PhotoService:
    def __init__(
        self,
        repository: PhotoRepository,
        store: ObjectStore,
        audit: AuditLog,
        decoding: anyio.CapacityLimiter,
    ) -> None:
        self.repository = repository
        self.store = store
        self.audit = audit
        # Decoding a 40-megapixel photo takes some 160 MB: a few at a time per
        # process, whatever the number of uploads arriving together.
        self.decoding = decoding

    async def product_owner(self, principal: Principal, product_id: uuid.UUID) -> Owner:
        row = (
            await self.repository.session.execute(
                select(Group)
                .join(Product, Product.group_id == Group.id)
                .where(Product.id == product_id)
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("Product not found.")
        ensure_visible(principal, row.province_code, "Product")
        return Owner("product", product_id, row)

    async def visit_owner(self, principal: Principal, visit_id: uuid.UUID) -> Owner:
        row = (
            await self.repository.session.execute(
                select(Group)
                .join(FieldVisit, FieldVisit.group_id == Group.id)
                .where(FieldVisit.id == visit_id)
            )
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("Visit not found.")
        ensure_visible(principal, row.province_code, "Visit")
        return Owner("visit", visit_id, row)

    async def put(self, owner: Owner, photo_id: uuid.UUID, upload: Spooled) -> tuple[Photo, bool]:
        """The photo and whether it is new. The same bytes under the same id again
        change nothing; other bytes, or another owner, under that id are 409."""
        existing = await self.repository.get(photo_id)
        if existing is not None:
            return self._same_or_conflict(existing, owner, upload), False
        try:
            encoded = await anyio.to_thread.run_sync(reencode, upload.file, limiter=self.decoding)
        except ImageRefused as exc:
            raise UnprocessableEntity(exc.detail, detail_th=exc.detail_th) from exc
        full_key, thumb_key = _keys(photo_id, encoded)
        await self.store.put(full_key, encoded.full, content_type=encoded.media_type)
        await self.store.put(thumb_key, encoded.thumb, content_type=encoded.media_type)
        photo = await self.repository.insert(
            {
                "id": photo_id,
                "product_id": owner.id if owner.kind == "product" else None,
                "visit_id": owner.id if owner.kind == "visit" else None,
                "content_sha256": upload.sha256,
                "upload_bytes": upload.size,
                "media_type": encoded.media_type,
                "width": encoded.width,
                "height": encoded.height,
                "bytes": len(encoded.full),
                "object_key": full_key,
                "thumb_key": thumb_key,
                "thumb_bytes": len(encoded.thumb),
                "created_by": client_id_var.get(),
            }
        )
        if photo is None:
            # The same id arrived twice at once and the other upload won: its objects
            # stay, ours (under keys of their own) go.
            await self.discard([full_key, thumb_key])
            existing = await self.repository.get(photo_id)
            if existing is None:  # the winner was deleted meanwhile
                raise IdConflict(
                    "A photo with this id is being changed; send it again.",
                    detail_th="รูปภาพรหัสนี้กำลังถูกแก้ไข กรุณาส่งใหม่อีกครั้ง",
                )
            return self._same_or_conflict(existing, owner, upload), False
        await self.audit.record(
            f"{owner.kind}.photo_added",
            owner.kind,
            owner.id,
            {
                "photo_id": photo_id,
                "media_type": photo.media_type,
                "width": photo.width,
                "height": photo.height,
                "content_sha256": photo.content_sha256,
            },
            province_code=owner.group.province_code,
        )
        return photo, True

    def _same_or_conflict(self, existing: Photo, owner: Owner, upload: Spooled) -> Photo:
        owner_id = existing.product_id if owner.kind == "product" else existing.visit_id
        if owner_id != owner.id or existing.content_sha256 != upload.sha256:
            raise IdConflict(
                "This photo id is already used for other bytes or another "
                f"{'product or visit' if owner_id != owner.id else owner.kind}.",
                detail_th="รหัสรูปภาพนี้ถูกใช้กับรูปอื่นแล้ว",
            )
        return existing

    async def remove(self, owner: Owner, photo_id: uuid.UUID) -> list[str]:
        """Deletes the row; returns the object keys, to delete once it has committed
        (deleting them first could lose the objects of a photo whose delete then
        rolled back)."""
        photo = await self.repository.get(photo_id)
        owner_id = None
        if photo is not None:
            owner_id = photo.product_id if owner.kind == "product" else photo.visit_id
        if photo is None or owner_id != owner.id:
            raise NotFound("Photo not found.")
        await self.repository.delete(photo_id)
        await self.audit.record(
            f"{owner.kind}.photo_removed",
            owner.kind,
            owner.id,
            {"photo_id": photo_id},
            province_code=owner.group.province_code,
        )
        return [photo.object_key, photo.thumb_key]

    async def discard(self, keys: list[str]) -> None:
        for key in keys:
            await self.store.delete(key)

    async def readable(self, principal: Principal | None, photo_id: uuid.UUID) -> Photo:
        """Product photos are public; a visit's are read like the visit (404 otherwise,
        also without a token: their existence is not disclosed)."""
        found = await self.repository.with_group(photo_id)
        if found is None:
            raise NotFound("Photo not found.")
        photo, group = found
        if photo.visit_id is not None and (
            principal is None
            or not principal.has(READ_SCOPE)
            or not principal.sees_province(group.province_code)
        ):
            raise NotFound("Photo not found.")
        return photo


def _keys(photo_id: uuid.UUID, encoded: Encoded) -> tuple[str, str]:
    # A fresh prefix per upload: the objects of a deleted photo are deleted after the
    # delete commits, and by then the same id may have been uploaded again; it must
    # not share their keys.
    prefix = f"photos/{photo_id}/{uuid.uuid4().hex}"
    ext = EXTENSIONS[encoded.media_type]
    return f"{prefix}/full.{ext}", f"{prefix}/thumb.{ext}"
