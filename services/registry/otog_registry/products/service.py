"""Products of groups and their certifications."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from otog_shared.auth import Principal, ensure_visible
from otog_shared.errors import NotFound, ProblemError
from otog_shared.outbox import record_event

from otog_registry.audit.service import AuditLog, clean, diff
from otog_registry.fiscal import today_in_bangkok
from otog_registry.groups.models import Group
from otog_registry.groups.repository import GroupRepository
from otog_registry.ids import new_id
from otog_registry.photos.repository import PhotoRepository
from otog_registry.photos.schemas import photo_out
from otog_registry.products.models import Certification, Product
from otog_registry.products.repository import ProductRepository
from otog_registry.products.schemas import (
    CertificationCreate,
    CertificationOut,
    CertificationStatus,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    Standard,
)

FIELDS = (
    "name_th",
    "name_en",
    "description",
    "price_satang",
    "unit",
    "is_premium",
    "packaging_notes",
    "is_available",
)


class DuplicateCertification(ProblemError):
    status, slug, title = 409, "duplicate-certification", "Certification Already Recorded"


def certification_status(cert: Certification, today: date) -> CertificationStatus:
    if cert.expires_on is not None and cert.expires_on < today:
        return CertificationStatus.expired
    return CertificationStatus.valid


def certification_out(cert: Certification, today: date) -> CertificationOut:
    return CertificationOut(
        id=cert.id,
        product_id=cert.product_id,
        standard=Standard(cert.standard),
        standard_name=cert.standard_name,
        number=cert.number,
        issued_on=cert.issued_on,
        expires_on=cert.expires_on,
        status=certification_status(cert, today),
        created_at=cert.created_at,
    )


def snapshot(product: Product) -> dict[str, Any]:
    return {f: getattr(product, f) for f in FIELDS}


class ProductService:
    def __init__(
        self, repository: ProductRepository, groups: GroupRepository, audit: AuditLog
    ) -> None:
        self.repository = repository
        self.groups = groups
        self.audit = audit

    async def create(self, group: Group, data: ProductCreate) -> Product:
        product = await self.repository.add(
            Product(id=data.id or new_id(), group_id=group.id, version=1, **data.model_dump())
        )
        await self.audit.record(
            "product.created",
            "product",
            product.id,
            clean({"group_id": group.id, **snapshot(product)}),
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "product.created",
            subject=f"/v1/products/{product.id}",
            province_code=group.province_code,
            data={"product_id": product.id, "group_id": group.id},
        )
        return product

    async def get(
        self, principal: Principal, product_id: uuid.UUID, *, for_update: bool = False
    ) -> tuple[Product, Group]:
        product = await self.repository.get(product_id, for_update=for_update)
        group = await self.groups.get(product.group_id) if product else None
        if product is None or group is None:
            raise NotFound("Product not found.")
        ensure_visible(principal, group.province_code, "Product")
        return product, group

    async def update(self, product: Product, group: Group, patch: ProductUpdate) -> Product:
        before = snapshot(product)
        # ProductUpdate refuses null for the fields a product cannot lose.
        changes = patch.model_dump(exclude_unset=True)
        for key, value in changes.items():
            setattr(product, key, value)
        changed = diff(before, snapshot(product))
        if changed:
            product.version += 1
            product.updated_at = datetime.now(UTC)
            await self.repository.session.flush()
            await self.audit.record(
                "product.updated", "product", product.id, changed, province_code=group.province_code
            )
        return product

    async def of_group(self, group: Group, *, after: uuid.UUID | None, limit: int) -> list[Product]:
        return await self.repository.of_group(group.id, after=after, limit=limit)

    async def to_out(self, products: list[Product]) -> list[ProductOut]:
        certs = await self.repository.certifications_of([p.id for p in products])
        photos = await PhotoRepository(self.repository.session).of_products(
            [p.id for p in products]
        )
        today = today_in_bangkok()
        return [
            ProductOut(
                id=p.id,
                group_id=p.group_id,
                **snapshot(p),
                certifications=[certification_out(c, today) for c in certs.get(p.id, [])],
                photos=[photo_out(photo) for photo in photos.get(p.id, [])],
                created_at=p.created_at,
                updated_at=p.updated_at,
            )
            for p in products
        ]

    async def certify(
        self, product: Product, group: Group, data: CertificationCreate
    ) -> Certification:
        cert = await self.repository.add_certification(
            {
                "id": data.id or new_id(),
                "product_id": product.id,
                "standard": data.standard.value,
                "standard_name": data.standard_name,
                "number": data.number,
                "issued_on": data.issued_on,
                "expires_on": data.expires_on,
            }
        )
        if cert is None:
            raise DuplicateCertification(
                "This product already has a certification with this standard and number."
            )
        await self.audit.record(
            "product.certified",
            "product",
            product.id,
            clean({"certification_id": cert.id, **data.model_dump()}),
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "product.certified",
            subject=f"/v1/products/{product.id}",
            province_code=group.province_code,
            data={
                "product_id": product.id,
                "group_id": group.id,
                "certification_id": cert.id,
                "standard": data.standard.value,
                "number": data.number,
                "issued_on": data.issued_on,
                "expires_on": data.expires_on,
            },
        )
        return cert

    async def certifications(self, product: Product) -> list[Certification]:
        return (await self.repository.certifications_of([product.id])).get(product.id, [])
