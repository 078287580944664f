"""Workers sign in with the national digital ID: token exchange (RFC 8693).

The national digital ID is an OIDC provider whose ID token carries the person's
13-digit national ID (claim ``pid`` by default). A worker's app signs the person in
there and exchanges the ID token at ``POST /v1/oauth/token`` for an access token of
ours with the single scope ``self``, ``sub`` = the registered worker's id and
``client_id`` = the app. The provider's tokens are never accepted as access tokens:
the exchange is where the person is matched to a registered worker, once.

Every refusal of the ID token is ``invalid_grant`` (RFC 6749 §5.2) and says what
was wrong with the token, never whose it was.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import FastAPI, Request
from otog_shared.auth import LEEWAY_SECONDS, SELF_SCOPE, JWKSKeyProvider, KeyProvider
from otog_shared.context import client_id_var
from otog_shared.errors import BadRequest, Unauthorized
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.errors import InvalidGrant
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import TokenRequest
from otog_registry.oauth.service import (
    InvalidClient,
    InvalidScope,
    TokenService,
    UnsupportedGrantType,
)
from otog_registry.pii import national_id
from otog_registry.pii.crypto import NationalIdProtector
from otog_registry.settings import RegistrySettings
from otog_registry.workers.models import Worker
from otog_registry.workers.repository import WorkerRepository

log = logging.getLogger("otog.registry.citizen")

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 (a URN)
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105 (a URN)
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 (a URN)


class TokenExchangeResponse(BaseModel):
    """An access token for a worker (RFC 8693 §2.2.1)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln",
                    "issued_token_type": ACCESS_TOKEN_TYPE,
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "scope": "self",
                }
            ]
        }
    )

    access_token: str
    issued_token_type: str = Field(
        default=ACCESS_TOKEN_TYPE,
        description=f"Always `{ACCESS_TOKEN_TYPE}`.",
    )
    token_type: str = Field(default="Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Lifetime of the token in seconds.")
    scope: str = Field(description="Always `self`.")


@dataclass(frozen=True)
class CitizenIdVerifier:
    """Checks the provider's ID tokens: signature (keys from its JWKS, cached),
    algorithm, issuer, audience, expiry, not-before and issued-at (with leeway)."""

    issuer: str
    audience: str
    claim: str
    algorithms: tuple[str, ...]
    keys: KeyProvider

    @classmethod
    def from_settings(cls, settings: RegistrySettings) -> CitizenIdVerifier | None:
        if not (
            settings.citizen_id_issuer
            and settings.citizen_id_jwks_url
            and settings.citizen_id_audience
        ):
            return None
        return cls(
            issuer=settings.citizen_id_issuer,
            audience=settings.citizen_id_audience,
            claim=settings.citizen_id_claim,
            algorithms=tuple(settings.citizen_id_algorithms),
            keys=JWKSKeyProvider(
                settings.citizen_id_jwks_url, cache_seconds=settings.jwks_cache_seconds
            ),
        )

    async def national_id(self, token: str) -> str:
        """The national ID the provider vouches for, or ``InvalidGrant``."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidGrant("The subject token is not a JWT.", error="invalid_grant") from exc
        if header.get("alg") not in self.algorithms:
            raise InvalidGrant(
                "The ID token's signing algorithm is not accepted.", error="invalid_grant"
            )
        try:
            key = await self.keys.get_key(header.get("kid"))
        except Unauthorized as exc:
            raise InvalidGrant(
                "The ID token was signed with a key the provider does not publish.",
                error="invalid_grant",
            ) from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidGrant("The ID token has expired.", error="invalid_grant") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidGrant(
                "The ID token's issuer is not trusted.", error="invalid_grant"
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidGrant(
                "The ID token was not issued for this programme.", error="invalid_grant"
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidGrant("The ID token is not valid yet.", error="invalid_grant") from exc
        except jwt.PyJWTError as exc:
            raise InvalidGrant("The ID token is not valid.", error="invalid_grant") from exc
        value = claims.get(self.claim)
        digits = national_id.normalize(value) if isinstance(value, str) else ""
        if national_id.problem_with(digits) is not None:
            raise InvalidGrant(
                f"The ID token carries no valid national ID in `{self.claim}`.",
                error="invalid_grant",
            )
        return digits

    async def aclose(self) -> None:
        await self.keys.aclose()


def citizen_id_hook(settings: RegistrySettings) -> Any:
    """App hook: ``app.state.citizen_id``, the verifier, or None when not configured."""

    @asynccontextmanager
    async def hook(app: FastAPI) -> AsyncIterator[None]:
        verifier = CitizenIdVerifier.from_settings(settings)
        app.state.citizen_id = verifier
        try:
            yield
        finally:
            if verifier is not None:
                await verifier.aclose()

    return hook


class CitizenSignIn:
    """Matches a verified person to a registered worker and mints the `self` token."""

    def __init__(
        self,
        clients: ApiClientRepository,
        workers: WorkerRepository,
        audit: AuditLog,
        protector: NationalIdProtector,
        tokens: TokenService,
        *,
        ttl_seconds: int,
    ) -> None:
        self.clients = clients
        self.workers = workers
        self.audit = audit
        self.protector = protector
        self.tokens = tokens
        self.ttl_seconds = ttl_seconds

    async def exchange(
        self, verifier: CitizenIdVerifier, form: TokenRequest
    ) -> TokenExchangeResponse:
        if not form.client_id:
            raise InvalidClient("client_id is required.", error="invalid_client")
        if not form.subject_token:
            raise BadRequest("subject_token is required.", error="invalid_request")
        if form.subject_token_type != ID_TOKEN_TYPE:
            raise BadRequest(
                f"subject_token_type must be {ID_TOKEN_TYPE}.", error="invalid_request"
            )
        if form.requested_token_type not in (None, ACCESS_TOKEN_TYPE):
            raise BadRequest(f"Only {ACCESS_TOKEN_TYPE} can be issued.", error="invalid_request")
        if form.scope is not None and set(form.scope.split()) - {SELF_SCOPE}:
            raise InvalidScope("A worker's token has the scope `self` only.", error="invalid_scope")
        # Any registered app may exchange: a worker's token opens only the worker's own
        # records, whichever app asks for it.
        client = await self.clients.get_by_client_id(form.client_id)
        if client is None or client.disabled_at is not None:
            raise InvalidClient("The client id is unknown or disabled.", error="invalid_client")
        client_id_var.set(client.client_id)

        nid = await verifier.national_id(form.subject_token)
        worker = await self.workers.get_by_hmac(self.protector.lookup_hash(nid))
        if worker is None:
            log.info("token exchange refused: the person is not a registered worker")
            raise InvalidGrant(
                "This person is not registered as a worker in the programme.",
                error="invalid_grant",
            )
        response, token_id = self._mint(worker, client.client_id)
        # The actor is the app (client_id_var); the national ID never goes in.
        await self.audit.record(
            "worker.signed_in",
            "worker",
            worker.id,
            {"client_id": client.client_id, "issuer": verifier.issuer, "token_id": token_id},
            province_code=worker.province_code,
        )
        return response

    def _mint(self, worker: Worker, client_id: str) -> tuple[TokenExchangeResponse, str]:
        now = int(time.time())
        token_id = uuid.uuid4().hex
        claims: dict[str, object] = {
            "iss": self.tokens.issuer,
            "aud": self.tokens.audience,
            "sub": str(worker.id),
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": token_id,
            "scope": SELF_SCOPE,
            "province": worker.province_code,
        }
        return (
            TokenExchangeResponse(
                access_token=self.tokens.key.sign(claims),
                expires_in=self.ttl_seconds,
                scope=SELF_SCOPE,
            ),
            token_id,
        )


async def exchange_id_token(
    request: Request, session: AsyncSession, form: TokenRequest
) -> TokenExchangeResponse:
    """The token endpoint's token-exchange grant."""
    verifier: CitizenIdVerifier | None = request.app.state.citizen_id
    if verifier is None:
        raise UnsupportedGrantType(
            "Sign-in with the national digital ID is not configured on this server.",
            error="unsupported_grant_type",
        )
    settings: RegistrySettings = request.app.state.settings
    sign_in = CitizenSignIn(
        ApiClientRepository(session),
        WorkerRepository(session),
        AuditLog(session),
        request.app.state.national_ids,
        request.app.state.token_service,
        ttl_seconds=settings.citizen_token_ttl_seconds,
    )
    return await sign_in.exchange(verifier, form)
