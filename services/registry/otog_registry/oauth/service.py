"""API clients and client-credentials tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

from otog_shared.auth import SCOPES
from otog_shared.errors import BadRequest, FieldError, ProblemError, UnprocessableEntity

from otog_registry.oauth.keys import SigningKey
from otog_registry.oauth.models import ApiClient
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import ClientCredentials, TokenResponse


class InvalidClient(ProblemError):
    status, slug, title = 401, "invalid-client", "Invalid Client"


class InvalidScope(ProblemError):
    status, slug, title = 400, "invalid-scope", "Invalid Scope"


class UnsupportedGrantType(ProblemError):
    status, slug, title = 400, "unsupported-grant-type", "Unsupported Grant Type"


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

    async def authenticate(self, client_id: str, client_secret: str) -> ApiClient:
        client = await self.repository.get_by_client_id(client_id)
        # Compare against a dummy hash when the client is unknown so timing says nothing.
        expected = client.secret_hash if client else hash_secret(secrets.token_urlsafe(8))
        ok = hmac.compare_digest(expected, hash_secret(client_secret))
        if client is None or not ok or client.disabled_at is not None:
            raise InvalidClient("The client id or secret is wrong.", error="invalid_client")
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
                raise InvalidScope(
                    "The client may not ask for: " + " ".join(not_allowed), error="invalid_scope"
                )
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


def check_grant_type(grant_type: str | None) -> None:
    if grant_type is None:
        raise BadRequest("grant_type is required.", error="invalid_request")
    if grant_type != "client_credentials":
        raise UnsupportedGrantType(
            "Only the client_credentials grant is supported.", error="unsupported_grant_type"
        )
