"""The authorization endpoint's rules (RFC 6749 §4.1, RFC 7636, OAuth 2.1):
which requests are shown the sign-in page, and the codes a sign-in yields."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from otog_shared.auth import SCOPES

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.models import ApiClient, AuthorizationCode
from otog_registry.oauth.pkce import is_valid_challenge
from otog_registry.oauth.repository import ApiClientRepository, AuthorizationCodeRepository
from otog_registry.users.models import User

PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


class NoSafeRedirect(Exception):
    """The request cannot be answered at a redirect URI (unknown client, redirect URI
    not registered): sending the browser anywhere could hand a code or an error to
    an attacker, so the user sees an error page instead (RFC 6749 §4.1.2.1)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RedirectError(Exception):
    """Refused after the redirect URI was validated: the app is told at its redirect URI."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ApiClient
    redirect_uri: str
    state: str | None
    code_challenge: str
    # Asked for and allowed to the app; the user's own scopes narrow them at sign-in.
    scopes: list[str]


def user_scope_set(scopes: Iterable[str]) -> frozenset[str]:
    """What a user may be granted: `admin` stands for every scope."""
    held = frozenset(scopes)
    return frozenset(SCOPES) if "admin" in held else held


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class AuthorizationService:
    def __init__(
        self,
        clients: ApiClientRepository,
        codes: AuthorizationCodeRepository,
        audit: AuditLog,
        *,
        code_ttl_seconds: int,
    ) -> None:
        self.clients = clients
        self.codes = codes
        self.audit = audit
        self.code_ttl = timedelta(seconds=code_ttl_seconds)

    async def validate(self, items: Iterable[tuple[str, str]]) -> AuthorizationRequest:
        params: dict[str, str] = {}
        repeated: set[str] = set()
        for key, value in items:
            if key in params:
                repeated.add(key)
            params[key] = value

        client_id = params.get("client_id")
        if not client_id or "client_id" in repeated:
            raise NoSafeRedirect("missing_client")
        client = await self.clients.get_by_client_id(client_id)
        if client is None or client.disabled_at is not None or not client.is_public:
            raise NoSafeRedirect("unknown_client")
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri or "redirect_uri" in repeated:
            raise NoSafeRedirect("missing_redirect_uri")
        if redirect_uri not in client.redirect_uris:
            raise NoSafeRedirect("unregistered_redirect_uri")

        state = params.get("state")

        def refuse(error: str, description: str) -> RedirectError:
            return RedirectError(error, description, redirect_uri, state)

        if repeated:
            raise refuse("invalid_request", "Repeated parameters: " + ", ".join(sorted(repeated)))
        if params.get("response_type") != "code":
            raise refuse("unsupported_response_type", "Only response_type=code is supported.")
        challenge = params.get("code_challenge")
        if not challenge:
            raise refuse("invalid_request", "PKCE is required: send code_challenge (S256).")
        if params.get("code_challenge_method") != "S256":
            raise refuse(
                "invalid_request", "Only code_challenge_method=S256 is supported (not plain)."
            )
        if not is_valid_challenge(challenge):
            raise refuse("invalid_request", "code_challenge must be 43 base64url characters.")
        if state is not None and len(state) > 1000:
            raise refuse("invalid_request", "state is longer than 1000 characters.")
        asked = params.get("scope", "").split()
        if asked:
            not_allowed = sorted(set(asked) - set(client.scopes))
            if not_allowed:
                raise refuse("invalid_scope", "The app may not ask for: " + " ".join(not_allowed))
            scopes = [s for s in client.scopes if s in asked]
        else:
            scopes = list(client.scopes)
        return AuthorizationRequest(client, redirect_uri, state, challenge, scopes)

    async def issue_code(self, request: AuthorizationRequest, user: User) -> str:
        code = secrets.token_urlsafe(32)
        granted = [s for s in request.scopes if s in user_scope_set(user.scopes)]
        await self.codes.add(
            AuthorizationCode(
                code_hash=code_hash(code),
                client_id=request.client.id,
                user_id=user.id,
                redirect_uri=request.redirect_uri,
                code_challenge=request.code_challenge,
                scopes=granted,
                family_id=uuid.uuid4(),
                expires_at=datetime.now(UTC) + self.code_ttl,
            )
        )
        return code
