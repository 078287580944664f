"""Clients, client-credentials tokens, JWKS, 401 and 403."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest
from otog_registry.oauth.models import ApiClient
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.service import ClientService
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory


async def make_client(
    session: AsyncSession, scopes: list[str], province: str | None = None
) -> tuple[str, str]:
    creds = await ClientService(ApiClientRepository(session)).create(
        name="Test client", scopes=scopes, province=province
    )
    await session.flush()
    return creds.client_id, creds.client_secret


async def get_token(
    client: httpx.AsyncClient, client_id: str, secret: str, **extra: str
) -> httpx.Response:
    return await client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            **extra,
        },
    )


async def test_token_is_issued_and_verifies_against_jwks(
    registry_session: tuple[httpx.AsyncClient, AsyncSession],
) -> None:
    client, session = registry_session
    cid, secret = await make_client(session, ["registry:read", "loans:read"], province="56")
    r = await get_token(client, cid, secret)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["scope"] == "loans:read registry:read"

    jwks = (await client.get("/v1/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(body["access_token"])
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        body["access_token"], jwt.PyJWK(key), algorithms=["EdDSA"], audience="otog-api"
    )
    assert claims["sub"] == cid and claims["province"] == "56"
    assert claims["exp"] - claims["iat"] == 900

    me = await client.get(
        "/v1/clients/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json() == {
        "client_id": cid,
        "scopes": ["loans:read", "registry:read"],
        "province": "56",
    }


async def test_secret_is_stored_hashed(
    registry_session: tuple[httpx.AsyncClient, AsyncSession],
) -> None:
    _, session = registry_session
    cid, secret = await make_client(session, ["registry:read"])
    row = (await session.execute(select(ApiClient).where(ApiClient.client_id == cid))).scalar_one()
    assert secret not in row.secret_hash and len(row.secret_hash) == 64


async def test_basic_auth_and_scope_subset(
    registry_session: tuple[httpx.AsyncClient, AsyncSession],
) -> None:
    client, session = registry_session
    cid, secret = await make_client(session, ["registry:read", "registry:write"])
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    r = await client.post(
        "/v1/oauth/token",
        data={"grant_type": "client_credentials", "scope": "registry:read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200 and r.json()["scope"] == "registry:read"

    r = await get_token(client, cid, secret, scope="admin")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            401,
            "invalid_client",
        ),
    ],
)
async def test_token_errors_are_problems(
    registry: httpx.AsyncClient, data: dict[str, str], status: int, error: str
) -> None:
    r = await registry.post("/v1/oauth/token", data=data)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["error"] == error


async def test_wrong_secret_is_401(
    registry_session: tuple[httpx.AsyncClient, AsyncSession],
) -> None:
    client, session = registry_session
    cid, _ = await make_client(session, ["registry:read"])
    r = await get_token(client, cid, "wrong")
    assert r.status_code == 401 and r.json()["type"] == "/problems/invalid-client"


async def test_missing_token_is_401(registry: httpx.AsyncClient) -> None:
    r = await registry.get("/v1/clients/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["type"] == "/problems/unauthorized"


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Token abc", "Bearer "])
async def test_bad_token_is_401(registry: httpx.AsyncClient, header: str) -> None:
    r = await registry.get("/v1/clients/me", headers={"Authorization": header})
    assert r.status_code == 401


async def test_expired_token_is_401(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    r = await registry.get("/v1/clients/me", headers=tokens.headers("admin", ttl=-120))
    assert r.status_code == 401 and "expired" in r.json()["detail"]


async def test_token_from_another_key_is_401(registry: httpx.AsyncClient, tmp_path: object) -> None:
    from pathlib import Path

    other = TokenFactory(Path(str(tmp_path)) / "other.pem")
    r = await registry.get("/v1/clients/me", headers=other.headers("admin"))
    assert r.status_code == 401


async def test_wrong_audience_is_401(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    r = await registry.get("/v1/clients/me", headers=tokens.headers("admin", aud="someone-else"))
    assert r.status_code == 401


async def test_missing_scope_is_403(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    r = await registry.post(
        "/v1/clients", json={"name": "x", "scopes": []}, headers=tokens.headers("registry:read")
    )
    assert r.status_code == 403
    assert r.json()["missing_scopes"] == ["admin"]


async def test_admin_creates_client_that_can_get_a_token(
    registry: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    r = await registry.post(
        "/v1/clients",
        json={"name": "Commerce", "scopes": ["market:write"], "province": "50"},
        headers=tokens.headers("admin"),
    )
    assert r.status_code == 201, r.text
    creds = r.json()
    r = await get_token(registry, creds["client_id"], creds["client_secret"])
    assert r.status_code == 200 and r.json()["scope"] == "market:write"


async def test_unknown_scope_is_422(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    r = await registry.post(
        "/v1/clients", json={"name": "x", "scopes": ["root"]}, headers=tokens.headers("admin")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scopes"
