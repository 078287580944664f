"""The registry service: ``uvicorn otog_registry.main:create_app --factory``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from otog_shared.app import create_app as create_service_app
from otog_shared.auth import ME_TAG, StaticKeyProvider
from otog_shared.idempotency.sealing import AesGcmSealer, seal_stored_answers
from otog_shared.objectstore import object_store_hook
from otog_shared.scheduler import scheduler_hook
from otog_shared.sync.http import SYNC_TAG

from otog_registry.audit.router import __doc__ as audit_doc
from otog_registry.audit.router import router as audit_router
from otog_registry.catalog.router import __doc__ as catalog_doc
from otog_registry.catalog.router import router as catalog_router
from otog_registry.events.collector import collector_hook
from otog_registry.events.router import __doc__ as events_doc
from otog_registry.events.router import router as events_router
from otog_registry.geography.router import router as geography_router
from otog_registry.groups.router import __doc__ as groups_doc
from otog_registry.groups.router import router as groups_router
from otog_registry.jobs import JOBS
from otog_registry.market.router import __doc__ as market_doc
from otog_registry.market.router import router as market_router
from otog_registry.me.router import router as me_router
from otog_registry.members.router import __doc__ as members_doc
from otog_registry.members.router import router as members_router
from otog_registry.models_registry import register_all
from otog_registry.oauth.citizen import citizen_id_hook
from otog_registry.oauth.clients_router import router as clients_router
from otog_registry.oauth.keys import SigningKey
from otog_registry.oauth.metadata_router import router as metadata_router
from otog_registry.oauth.pages import CsrfTokens
from otog_registry.oauth.router import router as oauth_router
from otog_registry.oauth.service import TokenService
from otog_registry.oauth.signin_router import router as signin_router
from otog_registry.photos.router import __doc__ as photos_doc
from otog_registry.photos.router import router as photos_router
from otog_registry.pii.crypto import NationalIdProtector, PiiKeys
from otog_registry.products.router import __doc__ as products_doc
from otog_registry.products.router import router as products_router
from otog_registry.settings import RegistrySettings
from otog_registry.stats.router import __doc__ as stats_doc
from otog_registry.stats.router import router as stats_router
from otog_registry.sync.router import router as sync_router
from otog_registry.users.passwords import Passwords
from otog_registry.users.router import __doc__ as users_doc
from otog_registry.users.router import router as users_router
from otog_registry.visits.router import __doc__ as visits_doc
from otog_registry.visits.router import router as visits_router
from otog_registry.webhooks.router import __doc__ as webhooks_doc
from otog_registry.webhooks.router import router as webhooks_router
from otog_registry.webhooks.signing import SecretBox
from otog_registry.webhooks.ssrf import TargetPolicy
from otog_registry.workers.router import WORKERS_CSV_SCHEMA
from otog_registry.workers.router import router as workers_router

DESCRIPTION = (
    "Geography, informal workers, occupation groups and their journey through the "
    "programme, products and certifications, field visits, market links; API clients and tokens."
)

OPENAPI_TAGS = [
    {
        "name": "auth",
        "description": "Tokens (client credentials; people's sign-in with the authorization "
        "code flow and PKCE; refresh; revocation), signing keys and server metadata.",
    },
    {"name": "users", "description": (users_doc or "").strip()},
    {"name": "clients", "description": "API clients (admin) and token introspection."},
    {
        "name": "geography",
        "description": (
            "Provinces, districts and subdistricts by official DOPA code (public). Data: "
            "GeoThai (`geothai`, CC-BY-4.0); coordinates: thai-geography (MIT)."
        ),
    },
    {
        "name": "workers",
        "description": (
            "Informal workers. National IDs are masked unless the caller has `pii:read` "
            "and are looked up only through `POST /v1/workers/search`."
        ),
    },
    {"name": "groups", "description": (groups_doc or "").strip()},
    {"name": "members", "description": (members_doc or "").strip()},
    {"name": "products", "description": (products_doc or "").strip()},
    {"name": "visits", "description": (visits_doc or "").strip()},
    {"name": "photos", "description": (photos_doc or "").strip()},
    {"name": "market-links", "description": (market_doc or "").strip()},
    {"name": "catalog", "description": (catalog_doc or "").strip()},
    {"name": "stats", "description": (stats_doc or "").strip()},
    {"name": "audit", "description": (audit_doc or "").strip()},
    {"name": "events", "description": (events_doc or "").strip()},
    ME_TAG,
    {"name": "webhooks", "description": (webhooks_doc or "").strip()},
    SYNC_TAG,
    {"name": "health", "description": "Liveness and readiness."},
]


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    register_all()
    signing_key = SigningKey.load_or_create(settings.signing_key_path)
    app = create_service_app(
        settings,
        service="registry",
        title="OTOG Registry",
        description=DESCRIPTION,
        routers=[
            oauth_router,
            signin_router,
            metadata_router,
            clients_router,
            users_router,
            geography_router,
            workers_router,
            groups_router,
            members_router,
            products_router,
            visits_router,
            photos_router,
            market_router,
            catalog_router,
            stats_router,
            audit_router,
            events_router,
            me_router,
            webhooks_router,
            sync_router,
        ],
        openapi_tags=OPENAPI_TAGS,
        # The registry trusts its own key in process; no HTTP round trip to itself.
        own_keys=lambda _app: StaticKeyProvider(signing_key.jwks()),
        hooks=[
            citizen_id_hook(settings),
            scheduler_hook(JOBS),
            collector_hook(settings),
            object_store_hook,
        ],
    )
    app.state.signing_key = signing_key
    app.state.token_service = TokenService(
        signing_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    pii_keys = PiiKeys.from_settings(settings)
    app.state.national_ids = NationalIdProtector(pii_keys)
    app.state.webhook_secrets = SecretBox(pii_keys)
    # Re-sends are answered with the first response, which can hold a national ID or
    # a new webhook's secret: stored under the same key as those, never in clear.
    # Key id 1 is the personal-data key; a rotation adds the next id beside it.
    seal_stored_answers(app, AesGcmSealer({1: pii_keys.encryption_key}, current=1))
    app.state.webhook_policy = TargetPolicy.of(
        settings.webhook_allow_loopback_http, settings.webhook_resolve
    )
    app.state.passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        concurrency=settings.password_hash_concurrency,
    )
    app.state.csrf_tokens = CsrfTokens(signing_key.derive_secret("otog sign-in page csrf"))
    _add_component_schemas(app)
    return app


def _add_component_schemas(app: FastAPI) -> None:
    """Schemas that no pydantic model produces (the CSV body of the worker import)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("WorkersCsv", WORKERS_CSV_SCHEMA)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
