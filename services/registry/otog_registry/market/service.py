"""Market links recorded by partner ministries, retry-safe with ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
import uuid

from otog_shared.context import client_id_var
from otog_shared.errors import FieldError, UnprocessableEntity
from otog_shared.outbox import record_event

from otog_registry.audit.service import AuditLog, clean
from otog_registry.fiscal import fiscal_year_bounds
from otog_registry.groups.models import Group
from otog_registry.ids import new_id
from otog_registry.market.models import MarketLink
from otog_registry.market.repository import MarketLinkRepository
from otog_registry.market.schemas import MarketLinkCreate, MarketSummary, Partner, PartnerSummary
from otog_registry.products.repository import ProductRepository


class IdempotencyKeyReused(UnprocessableEntity):
    slug = "idempotency-key-reused"


class MarketService:
    def __init__(
        self, repository: MarketLinkRepository, products: ProductRepository, audit: AuditLog
    ) -> None:
        self.repository = repository
        self.products = products
        self.audit = audit

    async def record(
        self, group: Group, data: MarketLinkCreate, idempotency_key: str | None
    ) -> MarketLink:
        request_hash = hashlib.sha256(f"{group.id}|{data.model_dump_json()}".encode()).hexdigest()
        actor = client_id_var.get()
        if idempotency_key is not None:
            earlier = await self.repository.by_idempotency_key(actor, idempotency_key)
            if earlier is not None:
                return self._replay(earlier, request_hash)
        if data.product_id is not None:
            product = await self.products.get(data.product_id)
            if product is None or product.group_id != group.id:
                raise UnprocessableEntity(
                    "The product is not one of this group's.",
                    errors=[
                        FieldError(field="body.product_id", message="not a product of the group")
                    ],
                )
        link = await self.repository.insert_once(
            {
                "id": data.id or new_id(),
                "group_id": group.id,
                **data.model_dump(),
                "partner": data.partner.value,
                "recorded_by": actor,
                "idempotency_key": idempotency_key,
                "request_hash": request_hash,
            }
        )
        if link is None:
            # The same key raced in from a parallel retry; the first one stands.
            assert idempotency_key is not None
            earlier = await self.repository.by_idempotency_key(actor, idempotency_key)
            assert earlier is not None
            return self._replay(earlier, request_hash)
        await self.audit.record(
            "group.market_link_recorded",
            "group",
            group.id,
            clean({"market_link_id": link.id, **data.model_dump()}),
            province_code=group.province_code,
        )
        await record_event(
            self.repository.session,
            "market_link.recorded",
            subject=f"/v1/groups/{group.id}/market-links/{link.id}",
            province_code=group.province_code,
            data={
                "market_link_id": link.id,
                "group_id": group.id,
                "product_id": data.product_id,
                "partner": data.partner.value,
                "channel": data.channel,
                "occurred_on": data.occurred_on,
                "sales_satang": data.sales_satang,
            },
        )
        return link

    @staticmethod
    def _replay(earlier: MarketLink, request_hash: str) -> MarketLink:
        if earlier.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request.",
                errors=[
                    FieldError(field="header.idempotency-key", message="used for another request")
                ],
            )
        return earlier

    async def of_group(
        self, group: Group, *, after: uuid.UUID | None, limit: int
    ) -> list[MarketLink]:
        return await self.repository.of_group(group.id, after=after, limit=limit)

    async def summary(self, group: Group, fiscal_year: int | None) -> MarketSummary:
        between = fiscal_year_bounds(fiscal_year) if fiscal_year else None
        rows = await self.repository.summary(group.id, between)
        return MarketSummary(
            group_id=group.id,
            fiscal_year=fiscal_year,
            links=sum(r[1] for r in rows),
            sales_satang=sum(r[2] for r in rows),
            first_on=min((r[3] for r in rows), default=None),
            last_on=max((r[4] for r in rows), default=None),
            by_partner=[
                PartnerSummary(partner=Partner(r[0]), links=r[1], sales_satang=r[2]) for r in rows
            ],
        )
