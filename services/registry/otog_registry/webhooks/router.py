"""Webhook subscriptions: events `POST`ed to a partner's URL as CloudEvents, signed the
Standard Webhooks way, retried with backoff. Any client manages its own; `admin` sees
all. A subscription receives exactly the events its client could read from the feed."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import Forbidden, problem_responses
from otog_shared.etag import check_if_match, etag_for
from otog_shared.idempotency.http import IdempotentRoute
from otog_shared.pagination import Pagination, paginate

from otog_registry.audit.service import AuditLog
from otog_registry.paging import after_id
from otog_registry.settings import RegistrySettings
from otog_registry.webhooks.models import WebhookSubscription
from otog_registry.webhooks.repository import WebhookRepository
from otog_registry.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    PingOut,
    ReplayIn,
    ReplayOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPage,
    WebhookSecret,
    WebhookUpdate,
)
from otog_registry.webhooks.service import WebhookService

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/webhooks", tags=["webhooks"])


async def webhook_client(principal: Annotated[Principal, Security(authenticate)]) -> Principal:
    """Clients manage webhooks; a worker signed in for their own record (`self`) does not."""
    if principal.worker_id is not None:
        raise Forbidden("A worker's own sign-in cannot manage webhooks.")
    return principal


Caller = Annotated[Principal, Depends(webhook_client)]


async def webhook_service(request: Request, session: DbSession) -> WebhookService:
    settings: RegistrySettings = request.app.state.settings
    return WebhookService(
        WebhookRepository(session),
        AuditLog(session),
        request.app.state.webhook_secrets,
        request.app.state.webhook_policy,
        secret_overlap=timedelta(seconds=settings.webhook_secret_overlap_seconds),
    )


Webhooks = Annotated[WebhookService, Depends(webhook_service)]


def webhook_etag(subscription: WebhookSubscription) -> str:
    return etag_for("webhook", subscription.id, subscription.version)


@router.post(
    "",
    status_code=201,
    summary="Subscribe to events",
    response_model=WebhookCreated,
    responses=problem_responses(400, 401, 403, 422),
)
async def create_webhook(
    body: WebhookCreate, response: Response, principal: Caller, webhooks: Webhooks
) -> WebhookCreated:
    """Creates a subscription for the calling client. The URL is checked now and at
    every delivery: `https` to a globally routable address. Event types the client's
    scopes cannot read are refused; `["*"]` means every type it can read. The signing
    `secret` is in this response only."""
    subscription, secret = await webhooks.create(principal, body)
    response.headers["Location"] = f"/v1/webhooks/{subscription.id}"
    response.headers["ETag"] = webhook_etag(subscription)
    return WebhookCreated(**WebhookOut.model_validate(subscription).model_dump(), secret=secret)


@router.get(
    "",
    summary="List webhook subscriptions",
    response_model=WebhookPage,
    responses=problem_responses(401, 403, 422),
)
async def list_webhooks(principal: Caller, webhooks: Webhooks, page: Pagination) -> WebhookPage:
    """The calling client's subscriptions (an `admin` sees everybody's), oldest first."""
    rows = await webhooks.page(principal, after=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda s: [str(s.id)])
    return WebhookPage(items=[WebhookOut.model_validate(s) for s in items], next_cursor=cursor)


@router.get(
    "/{webhook_id}",
    summary="Get a webhook subscription",
    response_model=WebhookOut,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_webhook(
    webhook_id: uuid.UUID, response: Response, principal: Caller, webhooks: Webhooks
) -> WebhookOut:
    """One subscription, with whether it is enabled and, if not, why."""
    subscription = await webhooks.get(principal, webhook_id)
    response.headers["ETag"] = webhook_etag(subscription)
    return WebhookOut.model_validate(subscription)


@router.patch(
    "/{webhook_id}",
    summary="Update a webhook subscription",
    response_model=WebhookOut,
    responses=problem_responses(400, 401, 403, 404, 412, 422),
)
async def update_webhook(
    webhook_id: uuid.UUID,
    body: WebhookUpdate,
    request: Request,
    response: Response,
    principal: Caller,
    webhooks: Webhooks,
) -> WebhookOut:
    """Changes the URL, the event types, the description, or `enabled`; a stale
    `If-Match` is 412."""
    subscription = await webhooks.get(principal, webhook_id, for_update=True)
    check_if_match(request, webhook_etag(subscription))
    subscription = await webhooks.update(subscription, body)
    response.headers["ETag"] = webhook_etag(subscription)
    return WebhookOut.model_validate(subscription)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    summary="Delete a webhook subscription",
    response_class=Response,
    responses=problem_responses(401, 403, 404, 412, 422),
)
async def delete_webhook(
    webhook_id: uuid.UUID, request: Request, principal: Caller, webhooks: Webhooks
) -> Response:
    """Deletes the subscription and its delivery log; nothing more is sent."""
    subscription = await webhooks.get(principal, webhook_id, for_update=True)
    check_if_match(request, webhook_etag(subscription))
    await webhooks.delete(subscription)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate a webhook's signing secret",
    response_model=WebhookSecret,
    responses=problem_responses(401, 403, 404, 422),
)
async def rotate_webhook_secret(
    webhook_id: uuid.UUID, response: Response, principal: Caller, webhooks: Webhooks
) -> WebhookSecret:
    """A new secret, in this response only. For 24 hours the previous one signs too:
    `webhook-signature` then carries two signatures, and a receiver verifies with
    either secret."""
    subscription = await webhooks.get(principal, webhook_id, for_update=True)
    secret, expires = await webhooks.rotate_secret(subscription)
    response.headers["ETag"] = webhook_etag(subscription)
    return WebhookSecret(id=subscription.id, secret=secret, previous_secret_expires_at=expires)


@router.post(
    "/{webhook_id}/ping",
    status_code=202,
    summary="Send a test event",
    response_model=PingOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def ping_webhook(webhook_id: uuid.UUID, principal: Caller, webhooks: Webhooks) -> PingOut:
    """Queues a `webhook.ping` event for this subscription alone; its delivery shows in
    the delivery log like any other. A disabled subscription is 409."""
    subscription = await webhooks.get(principal, webhook_id)
    delivery = await webhooks.ping(subscription)
    return PingOut(event_id=delivery.event_id, delivery_id=delivery.id)


@router.get(
    "/{webhook_id}/deliveries",
    summary="List a webhook's deliveries",
    response_model=DeliveryPage,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_webhook_deliveries(
    webhook_id: uuid.UUID, principal: Caller, webhooks: Webhooks, page: Pagination
) -> DeliveryPage:
    """The delivery log, newest first: per event, the attempts made, the last one's
    time and response status (or error), and when the next attempt is due."""
    subscription = await webhooks.get(principal, webhook_id)
    rows = await webhooks.deliveries(subscription, before=after_id(page), limit=page.limit + 1)
    items, cursor = paginate(rows, page, lambda d: [str(d.id)])
    return DeliveryPage(items=[DeliveryOut.model_validate(d) for d in items], next_cursor=cursor)


@router.post(
    "/{webhook_id}/replay",
    status_code=202,
    summary="Send past events again",
    response_model=ReplayOut,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def replay_webhook(
    webhook_id: uuid.UUID, body: ReplayIn, principal: Caller, webhooks: Webhooks
) -> ReplayOut:
    """Queues again every event that occurred in `[since, until)` (until: now) and that
    the subscription matches, with their original ids: receivers that deduplicate on
    `webhook-id` ignore what they already have."""
    subscription = await webhooks.get(principal, webhook_id)
    return ReplayOut(deliveries=await webhooks.replay(subscription, body))
