"""Bearer-token authentication shared by every service.

Tokens are JWTs signed by the registry (or a trusted external OIDC issuer).
Services verify them locally with keys from a JWKS document, cached and
refetched when an unknown key id shows up (key rotation).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import httpx
import jwt
from fastapi import Depends, Request, Security
from fastapi.openapi.models import (
    OAuthFlowAuthorizationCode,
    OAuthFlowClientCredentials,
    OAuthFlows,
)
from fastapi.security import OAuth2, SecurityScopes

from otog_shared.context import client_id_var, person_var
from otog_shared.errors import DependencyUnavailable, Forbidden, NotFound, Unauthorized
from otog_shared.settings import ServiceSettings

ALLOWED_ALGORITHMS = ["EdDSA", "RS256", "ES256"]
TOKEN_URL = "/v1/oauth/token"  # noqa: S105 (a path, not a secret)
AUTHORIZATION_URL = "/v1/oauth/authorize"

SCOPES: dict[str, str] = {
    "registry:read": "Read workers, groups, products, visits and market links.",
    "registry:write": "Register workers and groups, change stages, record visits and products.",
    "pii:read": "See national IDs unmasked.",
    "market:write": "Record market links and sales (partner ministries).",
    "training:read": "Read courses, sessions and enrolments.",
    "training:write": "Manage courses and sessions, enrol workers, record attendance.",
    "loans:read": "Read funds, loans, schedules and the ledger.",
    "loans:write": "Create funds and loans, withdraw, record repayments.",
    "loans:approve": "Approve, reject and disburse loans.",
    "admin": "Everything, in every province; manage API clients.",
    "self": "A worker's own record, groups, seats and loans (national digital ID sign-in).",
}
SELF_SCOPE = "self"

# The `me` tag, the same in the three services' documents.
ME_TAG: dict[str, str] = {
    "name": "me",
    "description": (
        "A worker's own record, groups, seats and loans, for the worker signed in with the "
        "national digital ID: the app exchanges the provider's ID token at "
        "`POST /v1/oauth/token` (token exchange, RFC 8693) for a token with the scope "
        "`self`. Such a token opens these routes and booking and cancelling the worker's "
        "own seat (`POST /v1/training-sessions/{session_id}/enrollments`, "
        "`POST /v1/enrollments/{enrollment_id}/cancel`); every other route refuses it (403)."
    ),
}

oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes=SCOPES),
        authorizationCode=OAuthFlowAuthorizationCode(
            authorizationUrl=AUTHORIZATION_URL,
            tokenUrl=TOKEN_URL,
            refreshUrl=TOKEN_URL,
            scopes=SCOPES,
        ),
    ),
    scheme_name="OAuth2",
    description=(
        "OAuth 2.0. Servers: client credentials at `POST /v1/oauth/token`. People in apps: "
        "the authorization code flow with PKCE (S256) at `/v1/oauth/authorize`, public "
        "clients without a secret; metadata at `/.well-known/oauth-authorization-server`."
    ),
    auto_error=False,
)


@dataclass(frozen=True)
class Principal:
    """Who calls: always a client (an API client or an app), and for a person's sign-in
    the person too, so the audit trail can name both."""

    client_id: str
    scopes: frozenset[str]
    province: str | None = None
    # An officer signed in through an app (authorization code + PKCE): the user's id.
    user_id: str | None = None
    # A worker signed in with the national digital ID (scope `self`): the worker's id.
    worker_id: str | None = None

    @property
    def person(self) -> str | None:
        """The person acting through the client, as the audit trail names them."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.worker_id is not None:
            return f"worker:{self.worker_id}"
        return None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def sees_province(self, province_code: str | None) -> bool:
        return self.province is None or self.province == province_code


class KeyProvider(Protocol):
    async def get_key(self, kid: str | None) -> jwt.PyJWK: ...

    async def aclose(self) -> None: ...


class StaticKeyProvider:
    """Keys known in process (the registry verifies with its own public keys)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = {k.get("kid"): jwt.PyJWK(k) for k in jwks.get("keys", [])}

    async def get_key(self, kid: str | None) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The token was signed by an unknown key.")
        return key

    async def aclose(self) -> None:
        return None


class JWKSKeyProvider:
    """Keys fetched from a JWKS URL, cached for ``cache_seconds``."""

    # An unknown kid triggers a refetch, but not more often than this.
    MIN_REFRESH_INTERVAL = 10.0

    def __init__(self, url: str, *, cache_seconds: int = 300, timeout: float = 3.0) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self._client = httpx.AsyncClient(timeout=timeout)
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        try:
            response = await self._client.get(self.url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DependencyUnavailable("The token signing keys could not be fetched.") from exc
        keys: dict[str | None, jwt.PyJWK] = {}
        for jwk in document.get("keys", []):
            try:
                keys[jwk.get("kid")] = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def get_key(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if kid not in self._keys or age > self.cache_seconds:
            async with self._lock:
                age = time.monotonic() - self._fetched_at
                stale = age > self.cache_seconds
                unknown = kid not in self._keys and age > self.MIN_REFRESH_INTERVAL
                if stale or unknown or not self._keys:
                    await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The token was signed by an unknown key.")
        return key

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass
class IssuerConfig:
    issuer: str
    audience: str | None
    keys: KeyProvider


# Checking an EdDSA signature costs more CPU than the rest of a small request,
# and a client sends the same token for up to its whole lifetime, so a verified
# token is remembered for a short while. Expiry still holds exactly; a signing key
# withdrawn from the JWKS stops its tokens within VERIFIED_CACHE_SECONDS.
VERIFIED_CACHE_SECONDS = 60.0
VERIFIED_CACHE_SIZE = 4096
LEEWAY_SECONDS = 30


class TokenVerifier:
    def __init__(self, issuers: list[IssuerConfig]) -> None:
        self._issuers = {cfg.issuer: cfg for cfg in issuers}
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    @classmethod
    def from_settings(
        cls, settings: ServiceSettings, own_keys: KeyProvider | None = None
    ) -> TokenVerifier:
        primary = own_keys or JWKSKeyProvider(
            settings.jwks_url, cache_seconds=settings.jwks_cache_seconds
        )
        issuers = [IssuerConfig(settings.jwt_issuer, settings.jwt_audience, primary)]
        for trusted in settings.trusted_issuers:
            issuers.append(
                IssuerConfig(
                    trusted.issuer,
                    trusted.audience,
                    JWKSKeyProvider(trusted.jwks_url, cache_seconds=settings.jwks_cache_seconds),
                )
            )
        return cls(issuers)

    async def aclose(self) -> None:
        for cfg in self._issuers.values():
            await cfg.keys.aclose()

    async def verify(self, token: str) -> Principal:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if now < cached[0]:
                return cached[1]
            del self._verified[token]
        principal, expires_at = await self._verify(token)
        self._verified[token] = (min(expires_at, now + VERIFIED_CACHE_SECONDS), principal)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """The principal and until when the token is acceptable (expiry plus leeway)."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is malformed.") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise Unauthorized("The token's signing algorithm is not accepted.")
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise Unauthorized("The token's issuer is not trusted.")
        key = await issuer.keys.get_key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=issuer.audience,
                issuer=issuer.issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The bearer token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is not valid.") from exc
        return principal_from_claims(claims), float(claims["exp"]) + LEEWAY_SECONDS


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    raw_scope = claims.get("scope", claims.get("scp", ""))
    scopes = raw_scope.split() if isinstance(raw_scope, str) else [str(s) for s in raw_scope]
    province = claims.get("province")
    subject = str(claims["sub"])
    client_id = str(claims.get("client_id") or subject)
    # A token minted for a person names the app in `client_id` and the person in `sub`;
    # `self` is only ever granted to a worker, so it says which kind of person.
    person = subject if subject != client_id else None
    is_worker = person is not None and "self" in scopes
    return Principal(
        client_id=client_id,
        scopes=frozenset(scopes),
        province=str(province) if province else None,
        user_id=person if person is not None and not is_worker else None,
        worker_id=person if is_worker else None,
    )


async def authenticate(
    request: Request,
    security_scopes: SecurityScopes,
    authorization: str | None = Depends(oauth2_scheme),
) -> Principal:
    """Dependency: the verified caller, holding every scope the route asks for."""
    principal = await _verified(request, authorization)
    _refuse_worker_outside_own_routes(principal, security_scopes.scopes)
    missing = [s for s in security_scopes.scopes if not principal.has(s)]
    if missing:
        raise Forbidden("The token lacks the scope this operation needs.", missing_scopes=missing)
    return principal


async def _verified(request: Request, authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthorized("A bearer token is required.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Use the Bearer authorization scheme.")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token.strip())
    client_id_var.set(principal.client_id)
    person_var.set(principal.person)
    return principal


def _refuse_worker_outside_own_routes(principal: Principal, route_scopes: Sequence[str]) -> None:
    # A worker's token carries only `self`, so routes asking for another scope refuse it
    # anyway; this also closes the routes that ask for no scope at all.
    if principal.worker_id is not None and SELF_SCOPE not in route_scopes:
        raise Forbidden(
            "A worker's own sign-in opens only the worker's own routes.",
            missing_scopes=list(route_scopes),
        )


async def authenticate_optional(
    request: Request,
    authorization: str | None = Depends(oauth2_scheme),
) -> Principal | None:
    """Dependency for public routes that show more to an authenticated caller."""
    if not authorization:
        return None
    return await authenticate(request, SecurityScopes([]), authorization)


def ensure_visible(principal: Principal, province_code: str | None, what: str = "Resource") -> None:
    """Objects of another province are reported as missing, never as forbidden."""
    if not principal.sees_province(province_code):
        raise NotFound(f"{what} not found.")


def ensure_may_act_in(principal: Principal, province_code: str) -> None:
    """Creating data in another province than the caller's is forbidden."""
    if not principal.sees_province(province_code):
        raise Forbidden("This client may only act on its own province's data.")


async def current_worker(
    principal: Annotated[Principal, Security(authenticate, scopes=[SELF_SCOPE])],
) -> Principal:
    """Dependency of the `/v1/me` routes: a worker signed in with the national digital ID.

    `admin` holds every scope, `self` included, but names no worker: refused too."""
    if principal.worker_id is None:
        raise Forbidden(
            "Only a worker's own sign-in (national digital ID) may use this operation.",
            missing_scopes=[SELF_SCOPE],
        )
    return principal


def worker_of(principal: Principal) -> uuid.UUID | None:
    """The id of the worker signed in with `self`, or None for every other caller."""
    if principal.worker_id is None:
        return None
    try:
        return uuid.UUID(principal.worker_id)
    except ValueError as exc:
        raise Forbidden("The token names no registered worker.") from exc


# The caller of a `/v1/me` route; `worker_of(principal)` is its worker's id.
CurrentWorker = Annotated[Principal, Depends(current_worker)]


def authenticate_any(*scopes: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency for a route open to callers holding any one of ``scopes`` (e.g. an
    officer's `training:write` or a worker's `self`); the route decides what each may do.

    It reads the header itself rather than through ``oauth2_scheme`` so that FastAPI
    documents no single-scope requirement; document the alternatives with
    :func:`any_scope_security`."""

    async def dependency(request: Request) -> Principal:
        principal = await _verified(request, request.headers.get("authorization"))
        _refuse_worker_outside_own_routes(principal, scopes)
        if not any(principal.has(scope) for scope in scopes):
            raise Forbidden(
                "The token lacks the scope this operation needs.",
                missing_scopes=list(scopes),
            )
        return principal

    return dependency


def any_scope_security(*scopes: str) -> dict[str, Any]:
    """``openapi_extra`` for a route using :func:`authenticate_any`: OpenAPI security
    requirements are alternatives, one per scope."""
    return {"security": [{oauth2_scheme.scheme_name: [scope]} for scope in scopes]}
