"""The whole sign-in through the gateway with an OAuth client library (Authlib's
httpx client, PKCE S256): authorize → sign in → code → token → API call → refresh →
the old refresh token again → the whole chain is revoked."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.signin.conftest import (
    PASSWORD,
    REDIRECT_URI,
    SignInStack,
    create_app,
    create_user,
    open_page,
)

pytestmark = pytest.mark.e2e


async def metadata(gw: httpx.AsyncClient) -> dict[str, Any]:
    r = await gw.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_metadata_at_the_gateway_root(
    signin_stack: SignInStack, gw: httpx.AsyncClient
) -> None:
    base = signin_stack.gateway_url
    meta = await metadata(gw)
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/v1/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/v1/oauth/token"
    assert meta["revocation_endpoint"] == f"{base}/v1/oauth/revoke"
    assert meta["jwks_uri"] == f"{base}/v1/.well-known/jwks.json"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token", "client_credentials"} <= set(
        meta["grant_types_supported"]
    )
    assert meta["response_types_supported"] == ["code"]
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert "registry:read" in meta["scopes_supported"]
    oidc = (await gw.get("/.well-known/openid-configuration")).json()
    assert {k: oidc[k] for k in meta} == meta
    assert oidc["subject_types_supported"] == ["public"]
    # Every advertised endpoint answers through the gateway.
    assert (await gw.get(meta["jwks_uri"])).status_code == 200


async def sign_in_with_authlib(
    stack: SignInStack, client_id: str, username: str, scope: str
) -> tuple[AsyncOAuth2Client, dict[str, Any]]:
    async with stack.client() as gw:
        meta = await metadata(gw)
    oauth = AsyncOAuth2Client(
        client_id=client_id,
        redirect_uri=REDIRECT_URI,
        scope=scope,
        code_challenge_method="S256",
        timeout=30,
    )
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier
    )
    async with stack.client(follow_redirects=False) as browser:
        page = await open_page(browser, url)
        assert page.response.status_code == 200, page.response.text
        done = await page.submit(username, PASSWORD)
    assert done.status_code == 302, done.text
    location = done.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    assert parse_qs(urlsplit(location).query)["state"] == [state]
    token = await oauth.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    return oauth, dict(token)


async def test_sign_in_refresh_and_reuse_revokes_the_chain(
    signin_stack: SignInStack, gw: httpx.AsyncClient
) -> None:
    admin = signin_stack.admin
    app = await create_app(gw, admin, ["registry:read", "registry:write", "training:read"])
    user = await create_user(gw, admin, ["registry:read", "loans:read", "training:read"], "15")
    oauth, token = await sign_in_with_authlib(
        signin_stack, app, user["username"], "registry:read registry:write training:read"
    )
    try:
        assert token["token_type"] == "Bearer"
        # user ∩ app ∩ requested: registry:write is the app's but not the user's.
        assert token["scope"] == "registry:read training:read"
        claims = jwt.decode(token["access_token"], options={"verify_signature": False})
        assert claims["sub"] == user["id"]
        assert claims["client_id"] == app
        assert claims["province"] == "15"

        # The token works at the API, through the gateway, as the user in the app.
        r = await oauth.get(f"{signin_stack.gateway_url}/v1/clients/me")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "client_id": app,
            "scopes": ["registry:read", "training:read"],
            "province": "15",
        }
        r = await oauth.get(f"{signin_stack.gateway_url}/v1/groups", params={"province": "15"})
        assert r.status_code == 200, r.text
        denied = await oauth.post(
            f"{signin_stack.gateway_url}/v1/groups",
            json={"name_th": "x", "subdistrict_code": "150101", "occupation": "handicraft"},
        )
        assert denied.status_code == 403

        first_refresh = token["refresh_token"]
        refreshed = await oauth.refresh_token(
            f"{signin_stack.gateway_url}/v1/oauth/token", refresh_token=first_refresh
        )
        newest = refreshed["refresh_token"]
        assert newest != first_refresh
        assert refreshed["scope"] == "registry:read training:read"
        assert (await oauth.get(f"{signin_stack.gateway_url}/v1/clients/me")).status_code == 200

        # The first refresh token again: a copy is out there, so the whole chain goes.
        with pytest.raises(OAuthError) as reused:
            await oauth.refresh_token(
                f"{signin_stack.gateway_url}/v1/oauth/token", refresh_token=first_refresh
            )
        assert reused.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as chain:
            await oauth.refresh_token(
                f"{signin_stack.gateway_url}/v1/oauth/token", refresh_token=newest
            )
        assert chain.value.error == "invalid_grant"
    finally:
        await oauth.aclose()

    events = (
        await gw.get(
            "/v1/audit-events",
            params={"actor_person": f"user:{user['id']}", "limit": 200},
            headers=admin,
        )
    ).json()["items"]
    actions = [e["action"] for e in events]
    assert "user.signed_in" in actions and "user.refresh_token_reused" in actions
    assert all(e["actor"] == app for e in events if e["action"] == "user.signed_in")
    assert all(
        "password" not in str(e["changes"]).lower() or e["action"] == "user.created" for e in events
    )


async def test_token_response_shape_and_no_store(
    signin_stack: SignInStack, gw: httpx.AsyncClient
) -> None:
    app = await create_app(gw, signin_stack.admin, ["registry:read"])
    user = await create_user(gw, signin_stack.admin, ["registry:read"])
    oauth, token = await sign_in_with_authlib(signin_stack, app, user["username"], "")
    await oauth.aclose()
    r = await gw.post(
        "/v1/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": app,
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert set(r.json()) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    # Another app cannot use this app's refresh token, and it is not spent by trying.
    other = await create_app(gw, signin_stack.admin, ["registry:read"])
    stolen = await gw.post(
        "/v1/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": r.json()["refresh_token"],
            "client_id": other,
        },
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert stolen.headers["content-type"].startswith("application/problem+json")


async def test_revocation_signs_out(signin_stack: SignInStack, gw: httpx.AsyncClient) -> None:
    app = await create_app(gw, signin_stack.admin, ["registry:read"])
    user = await create_user(gw, signin_stack.admin, ["registry:read"])
    oauth, token = await sign_in_with_authlib(signin_stack, app, user["username"], "registry:read")
    try:
        refreshed = await oauth.refresh_token(
            f"{signin_stack.gateway_url}/v1/oauth/token", refresh_token=token["refresh_token"]
        )
        r = await oauth.revoke_token(
            f"{signin_stack.gateway_url}/v1/oauth/revoke",
            token=refreshed["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert r.status_code == 200, r.text
        with pytest.raises(OAuthError) as revoked:
            await oauth.refresh_token(
                f"{signin_stack.gateway_url}/v1/oauth/token",
                refresh_token=refreshed["refresh_token"],
            )
        assert revoked.value.error == "invalid_grant"
    finally:
        await oauth.aclose()
    # Unknown tokens are answered 200 (RFC 7009); an unknown client is not.
    ok = await gw.post("/v1/oauth/revoke", data={"token": "nonsense", "client_id": app})
    assert ok.status_code == 200
    bad = await gw.post(
        "/v1/oauth/revoke", data={"token": "nonsense", "client_id": "otog_app_nobody"}
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
