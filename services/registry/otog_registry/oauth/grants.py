"""The token endpoint's grants, one function each, chosen by ``grant_type``.

A grant receives the request's context and returns the token response, or raises
an ``OAuthProblem``. Adding a grant is one function and one line in ``GRANTS``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.authorization import code_hash, user_scope_set
from otog_registry.oauth.citizen import (
    TOKEN_EXCHANGE_GRANT,
    TokenExchangeResponse,
    exchange_id_token,
)
from otog_registry.oauth.errors import InvalidClient, InvalidGrant, InvalidRequest
from otog_registry.oauth.models import ApiClient
from otog_registry.oauth.pkce import verifier_matches
from otog_registry.oauth.refresh import RefreshTokens
from otog_registry.oauth.repository import (
    ApiClientRepository,
    AuthorizationCodeRepository,
    RefreshTokenRepository,
)
from otog_registry.oauth.schemas import TokenRequest, TokenResponse
from otog_registry.oauth.service import ClientService, TokenService
from otog_registry.settings import RegistrySettings
from otog_registry.users.models import User
from otog_registry.users.repository import UserRepository


@dataclass(frozen=True)
class GrantContext:
    request: Request
    form: TokenRequest
    session: AsyncSession
    tokens: TokenService
    settings: RegistrySettings

    def client_credentials(self) -> tuple[str | None, str | None]:
        """client_id and secret from HTTP Basic (RFC 6749 §2.3.1) or the form."""
        header = self.request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise InvalidClient("Malformed Basic credentials.") from exc
            client_id, sep, secret = decoded.partition(":")
            if sep:
                return client_id, secret
        return self.form.client_id, self.form.client_secret

    async def identify_client(self) -> ApiClient:
        client_id, secret = self.client_credentials()
        return await ClientService(ApiClientRepository(self.session)).identify(client_id, secret)

    def refresh_tokens(self) -> RefreshTokens:
        return RefreshTokens(
            RefreshTokenRepository(self.session),
            AuditLog(self.session),
            self.settings.refresh_token_ttl_seconds,
        )


GrantHandler = Callable[[GrantContext], Awaitable[TokenResponse | TokenExchangeResponse]]


async def client_credentials_grant(ctx: GrantContext) -> TokenResponse:
    client_id, secret = ctx.client_credentials()
    if not client_id or not secret:
        raise InvalidClient("Client credentials are required.")
    client = await ClientService(ApiClientRepository(ctx.session)).authenticate(client_id, secret)
    return ctx.tokens.issue(client, ctx.form.scope)


async def _active_user(session: AsyncSession, user: User | None) -> User:
    if user is None or user.disabled_at is not None:
        raise InvalidGrant("The account behind this grant is no longer active.")
    locked = user.locked_until
    if locked is not None and locked > datetime.now(UTC):
        raise InvalidGrant("The account is locked.")
    return user


def _granted(scopes: list[str], client: ApiClient, user: User) -> list[str]:
    # The user's and the app's scopes may have shrunk since the sign-in.
    allowed = user_scope_set(user.scopes) & frozenset(client.scopes)
    return [s for s in scopes if s in allowed]


async def authorization_code_grant(ctx: GrantContext) -> TokenResponse:
    form = ctx.form
    client = await ctx.identify_client()
    if not form.code or not form.redirect_uri or not form.code_verifier:
        raise InvalidRequest("code, redirect_uri and code_verifier are required.")
    codes = AuthorizationCodeRepository(ctx.session)
    now = datetime.now(UTC)
    hashed = code_hash(form.code)
    code = await codes.spend(hashed, now)
    if code is None:
        spent = await codes.get(hashed)
        if spent is None:
            raise InvalidGrant("The authorization code is not valid.")
        # A code presented twice was intercepted or replayed: what it issued goes too.
        await ctx.refresh_tokens().revoke_family(spent.family_id)
        raise InvalidGrant(
            "The authorization code was used already; the tokens it issued are revoked.",
            keeps_changes=True,
        )
    # The code is spent from here on, whatever follows: refusals keep that.
    if code.client_id != client.id:
        raise InvalidGrant("The code was issued to another client.", keeps_changes=True)
    if code.expires_at <= now:
        raise InvalidGrant("The authorization code has expired.", keeps_changes=True)
    if code.redirect_uri != form.redirect_uri:
        raise InvalidGrant(
            "redirect_uri differs from the authorization request.", keeps_changes=True
        )
    if not verifier_matches(form.code_verifier, code.code_challenge):
        raise InvalidGrant(
            "The code_verifier does not match the code_challenge.", keeps_changes=True
        )
    user = await _active_user(ctx.session, await UserRepository(ctx.session).get(code.user_id))
    scopes = _granted(list(code.scopes), client, user)
    refresh = await ctx.refresh_tokens().issue(
        family_id=code.family_id, client=client, user_id=user.id, scopes=scopes
    )
    return ctx.tokens.issue_for_person(
        subject=str(user.id),
        client=client,
        scopes=scopes,
        province=user.province_code,
        refresh_token=refresh,
    )


async def refresh_token_grant(ctx: GrantContext) -> TokenResponse:
    client = await ctx.identify_client()
    if not ctx.form.refresh_token:
        raise InvalidRequest("refresh_token is required.")
    tokens = ctx.refresh_tokens()
    used = await tokens.use(ctx.form.refresh_token, client)
    user = await _active_user(ctx.session, await UserRepository(ctx.session).get(used.user_id))
    scopes = _granted(list(used.scopes), client, user)
    if ctx.form.scope:
        # May narrow the grant, never widen it (RFC 6749 §6). Scopes never granted are
        # left out as at the sign-in, where the user's own scopes narrow the request:
        # client libraries send the scope they first asked for with every refresh.
        asked = set(ctx.form.scope.split())
        scopes = [s for s in scopes if s in asked]
    successor = await tokens.issue(
        family_id=used.family_id, client=client, user_id=user.id, scopes=scopes
    )
    return ctx.tokens.issue_for_person(
        subject=str(user.id),
        client=client,
        scopes=scopes,
        province=user.province_code,
        refresh_token=successor,
    )


async def token_exchange_grant(ctx: GrantContext) -> TokenExchangeResponse:
    """A worker's national digital ID token for a `self` token (RFC 8693)."""
    return await exchange_id_token(ctx.request, ctx.session, ctx.form)


GRANTS: dict[str, GrantHandler] = {
    "client_credentials": client_credentials_grant,
    "authorization_code": authorization_code_grant,
    "refresh_token": refresh_token_grant,
    TOKEN_EXCHANGE_GRANT: token_exchange_grant,
}
