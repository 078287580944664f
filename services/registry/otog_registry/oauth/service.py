"""API clients and client-credentials tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

from otog_shared.auth import SCOPES
from otog_shared.errors import FieldError, UnprocessableEntity

# UnsupportedGrantType is imported from here by grant modules written before errors.py.
from otog_registry.oauth.errors import InvalidClient, InvalidScope, UnsupportedGrantType
from otog_registry.oauth.keys import SigningKey
from otog_registry.oauth.models import ApiClient
from otog_registry.oauth.redirects import redirect_uri_problem
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import AppClientOut, ClientCredentials, TokenResponse


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UnprocessableEntity(
            "Unknown scopes.",
            errors=[FieldError(field="scopes", message=f"unknown scope {s!r}") for s in unknown],
        )
    return sorted(set(scopes))


class ClientService:
    def __init__(self, repository: ApiClientRepository) -> None:
        self.repository = repository

    async def create(
        self, *, name: str, scopes: list[str], province: str | None
    ) -> ClientCredentials:
        if province is not None and not (len(province) == 2 and province.isdigit()):
            raise UnprocessableEntity(
                "A province is a 2-digit DOPA code.",
                errors=[FieldError(field="province", message="must be 2 digits")],
            )
        granted = validate_scopes(scopes)
        client_id = "otog_" + secrets.token_hex(10)
        secret = secrets.token_urlsafe(32)
        await self.repository.add(
            ApiClient(
                id=uuid.uuid4(),
                client_id=client_id,
                name=name,
                secret_hash=hash_secret(secret),
                scopes=granted,
                province_code=province,
            )
        )
        return ClientCredentials(
            client_id=client_id, client_secret=secret, name=name, scopes=granted, province=province
        )

    async def create_app(
        self, *, name: str, redirect_uris: list[str], scopes: list[str]
    ) -> AppClientOut:
        """A public client (a mobile or browser app): no secret, PKCE instead; the
        people signing in through it bring their own province."""
        problems = [
            FieldError(field=f"redirect_uris.{i}", message=why)
            for i, uri in enumerate(redirect_uris)
            if (why := redirect_uri_problem(uri)) is not None
        ]
        if not redirect_uris:
            problems.append(FieldError(field="redirect_uris", message="at least one is needed"))
        if problems:
            raise UnprocessableEntity("Redirect URIs that cannot be registered.", errors=problems)
        granted = validate_scopes(scopes)
        client_id = "otog_app_" + secrets.token_hex(10)
        uris = list(dict.fromkeys(redirect_uris))
        await self.repository.add(
            ApiClient(
                id=uuid.uuid4(),
                client_id=client_id,
                name=name,
                client_type="public",
                secret_hash=None,
                scopes=granted,
                redirect_uris=uris,
                province_code=None,
            )
        )
        return AppClientOut(
            client_id=client_id, name=name, type="public", redirect_uris=uris, scopes=granted
        )

    async def authenticate(self, client_id: str, client_secret: str) -> ApiClient:
        client = await self.repository.get_by_client_id(client_id)
        # Compare against a dummy hash when the client is unknown so timing says nothing.
        stored = client.secret_hash if client else None
        expected = stored or hash_secret(secrets.token_urlsafe(8))
        ok = hmac.compare_digest(expected, hash_secret(client_secret))
        if client is None or stored is None or not ok or client.disabled_at is not None:
            raise InvalidClient("The client id or secret is wrong.")
        return client

    async def identify(self, client_id: str | None, client_secret: str | None) -> ApiClient:
        """The client of a grant that people use: a public client names itself; a
        confidential one must still prove itself with its secret."""
        if not client_id:
            raise InvalidClient("client_id is required.")
        if client_secret:
            return await self.authenticate(client_id, client_secret)
        client = await self.repository.get_by_client_id(client_id)
        if client is None or client.disabled_at is not None:
            raise InvalidClient("Unknown client.")
        if not client.is_public:
            raise InvalidClient("This client must authenticate with its secret.")
        return client


class TokenService:
    def __init__(self, key: SigningKey, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, client: ApiClient, requested_scope: str | None) -> TokenResponse:
        granted = list(client.scopes)
        if requested_scope:
            asked = requested_scope.split()
            not_allowed = sorted(set(asked) - set(granted))
            if not_allowed:
                raise InvalidScope("The client may not ask for: " + " ".join(not_allowed))
            granted = [s for s in granted if s in asked]
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(granted),
        }
        if client.province_code:
            claims["province"] = client.province_code
        return TokenResponse(
            access_token=self.key.sign(claims),
            expires_in=self.ttl_seconds,
            scope=" ".join(granted),
        )

    def issue_for_person(
        self,
        *,
        subject: str,
        client: ApiClient,
        scopes: list[str],
        province: str | None,
        refresh_token: str | None = None,
    ) -> TokenResponse:
        """A token for a person signed in through ``client``: ``sub`` is the person,
        ``client_id`` the app, ``province`` the person's (every service reads them
        through ``otog_shared.auth.principal_from_claims``)."""
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
        }
        if province:
            claims["province"] = province
        return TokenResponse(
            access_token=self.key.sign(claims),
            expires_in=self.ttl_seconds,
            scope=" ".join(scopes),
            refresh_token=refresh_token,
        )


__all__ = [
    "ClientService",
    "InvalidClient",
    "InvalidScope",
    "TokenService",
    "UnsupportedGrantType",
    "hash_secret",
    "validate_scopes",
]
