"""Rules of the webhooks domain: who manages which subscription, what it receives,
which targets are allowed, secrets and their rotation, pings and replays."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from otog_shared.auth import Principal
from otog_shared.errors import Conflict, FieldError, NotFound, UnprocessableEntity
from otog_shared.outbox import EVENT_TYPES

from otog_registry.audit.service import AuditLog
from otog_registry.events.visibility import readable_types
from otog_registry.ids import new_id
from otog_registry.webhooks.models import PENDING, WebhookDelivery, WebhookSubscription
from otog_registry.webhooks.repository import WebhookRepository
from otog_registry.webhooks.schemas import ALL_TYPES, ReplayIn, WebhookCreate, WebhookUpdate
from otog_registry.webhooks.signing import SecretBox, new_secret
from otog_registry.webhooks.ssrf import (
    TargetPolicy,
    TargetRefused,
    TargetUnresolvable,
    check_target,
)

PING = "webhook.ping"
PING_SOURCE = "/otog/registry"


class WebhookDisabled(Conflict):
    slug: ClassVar[str] = "webhook-disabled"
    title: ClassVar[str] = "Webhook Disabled"


def subscribed_types(event_types: list[str], scopes: list[str] | frozenset[str]) -> frozenset[str]:
    """The event types a subscription receives: those it asked for that its client
    may read (``*``: all of those)."""
    wanted = EVENT_TYPES if ALL_TYPES in event_types else frozenset(event_types)
    return wanted & readable_types(scopes)


class WebhookService:
    def __init__(
        self,
        repository: WebhookRepository,
        audit: AuditLog,
        secrets: SecretBox,
        policy: TargetPolicy,
        *,
        secret_overlap: timedelta,
    ) -> None:
        self.repository = repository
        self.audit = audit
        self.secrets = secrets
        self.policy = policy
        self.secret_overlap = secret_overlap

    async def create(
        self, principal: Principal, body: WebhookCreate
    ) -> tuple[WebhookSubscription, str]:
        await self._check_url(body.url)
        self._check_types(principal.scopes, body.event_types)
        secret = new_secret()
        subscription = await self.repository.add(
            WebhookSubscription(
                id=body.id or new_id(),
                client_id=principal.client_id,
                scopes=sorted(principal.scopes),
                province_code=principal.province,
                url=body.url,
                event_types=body.event_types,
                description=body.description,
                secret=self.secrets.seal(secret),
            )
        )
        await self.audit.record(
            "webhook.created",
            "webhook",
            subscription.id,
            {"url": body.url, "event_types": body.event_types, "description": body.description},
            province_code=principal.province,
        )
        return subscription, secret

    async def get(
        self, principal: Principal, webhook_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookSubscription:
        subscription = await self.repository.get(webhook_id, for_update=for_update)
        if subscription is None or not _manages(principal, subscription):
            raise NotFound("Webhook subscription not found.")
        return subscription

    async def page(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> list[WebhookSubscription]:
        owner = None if "admin" in principal.scopes else principal.client_id
        return await self.repository.page(client_id=owner, after=after, limit=limit)

    async def update(
        self, subscription: WebhookSubscription, patch: WebhookUpdate
    ) -> WebhookSubscription:
        changes = patch.model_dump(exclude_unset=True)
        if "url" in changes:
            await self._check_url(changes["url"])
        if "event_types" in changes:
            # What the subscription's own client may read (an admin may be editing it).
            self._check_types(subscription.scopes, changes["event_types"])
        changed: dict[str, Any] = {}
        for key, value in changes.items():
            if getattr(subscription, key) != value:
                changed[key] = {"from": getattr(subscription, key), "to": value}
                setattr(subscription, key, value)
        if "enabled" in changed:
            now = datetime.now(UTC)
            if subscription.enabled:
                # A fresh start: the three days of failures count again from zero.
                subscription.disabled_reason = None
                subscription.disabled_at = None
                subscription.failing_since = None
            else:
                subscription.disabled_reason = "disabled by its client"
                subscription.disabled_at = now
        if changed:
            subscription.version += 1
            subscription.updated_at = datetime.now(UTC)
            await self.repository.session.flush()
            await self.audit.record(
                "webhook.updated",
                "webhook",
                subscription.id,
                changed,
                province_code=subscription.province_code,
            )
        return subscription

    async def delete(self, subscription: WebhookSubscription) -> None:
        await self.repository.remove(subscription)
        await self.audit.record(
            "webhook.deleted",
            "webhook",
            subscription.id,
            {"url": subscription.url},
            province_code=subscription.province_code,
        )

    async def rotate_secret(self, subscription: WebhookSubscription) -> tuple[str, datetime]:
        """A new secret; the current one keeps signing beside it for the overlap, so
        receivers can switch without losing a delivery."""
        secret = new_secret()
        expires = datetime.now(UTC) + self.secret_overlap
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = expires
        subscription.secret = self.secrets.seal(secret)
        subscription.version += 1
        subscription.updated_at = datetime.now(UTC)
        await self.repository.session.flush()
        await self.audit.record(
            "webhook.secret_rotated",
            "webhook",
            subscription.id,
            {"previous_secret_expires_at": expires.isoformat()},
            province_code=subscription.province_code,
        )
        return secret, expires

    async def ping(self, subscription: WebhookSubscription) -> WebhookDelivery:
        """A ``webhook.ping`` to this subscription alone (it is in nobody's feed)."""
        if not subscription.enabled:
            raise WebhookDisabled("The subscription is disabled; enable it to ping it.")
        event_id = new_id()
        event = {
            "specversion": "1.0",
            "id": str(event_id),
            "source": PING_SOURCE,
            "type": PING,
            "time": datetime.now(UTC).isoformat(),
            "subject": f"/v1/webhooks/{subscription.id}",
            "datacontenttype": "application/json",
            "data": {"webhook_id": str(subscription.id)},
        }
        return await self.repository.add_delivery(
            WebhookDelivery(
                id=new_id(),
                subscription_id=subscription.id,
                event_id=event_id,
                event_type=PING,
                event=event,
                status=PENDING,
                attempt=0,
                next_attempt_at=datetime.now(UTC),
            )
        )

    async def replay(self, subscription: WebhookSubscription, body: ReplayIn) -> int:
        until = body.until or datetime.now(UTC)
        if until <= body.since:
            raise UnprocessableEntity(
                "The window is empty.",
                errors=[FieldError(field="body.until", message="must be after since")],
            )
        count = await self.repository.replay(
            subscription.id,
            types=subscribed_types(subscription.event_types, subscription.scopes),
            province_code=subscription.province_code,
            since=body.since,
            until=until,
        )
        await self.audit.record(
            "webhook.replayed",
            "webhook",
            subscription.id,
            {"since": body.since.isoformat(), "until": until.isoformat(), "deliveries": count},
            province_code=subscription.province_code,
        )
        return count

    async def deliveries(
        self, subscription: WebhookSubscription, *, before: uuid.UUID | None, limit: int
    ) -> list[WebhookDelivery]:
        return await self.repository.deliveries(subscription.id, before=before, limit=limit)

    async def _check_url(self, url: str) -> None:
        try:
            await check_target(url, self.policy)
        except (TargetRefused, TargetUnresolvable) as exc:
            raise UnprocessableEntity(
                str(exc), errors=[FieldError(field="body.url", message=str(exc))]
            ) from exc

    def _check_types(self, scopes: Iterable[str], event_types: list[str]) -> None:
        if ALL_TYPES in event_types:
            return
        unreadable = sorted(set(event_types) - readable_types(scopes))
        if unreadable:
            raise UnprocessableEntity(
                "The client's scopes do not let it read these event types: "
                + ", ".join(unreadable),
                errors=[
                    FieldError(field="body.event_types", message=f"{t} needs another scope")
                    for t in unreadable
                ],
            )


def _manages(principal: Principal, subscription: WebhookSubscription) -> bool:
    return "admin" in principal.scopes or subscription.client_id == principal.client_id
