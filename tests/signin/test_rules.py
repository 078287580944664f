"""The protocol's small rules on their own: PKCE, redirect URIs, language choice,
CSRF tokens, the slow-down schedule; and the admin endpoints in process."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from otog_registry.oauth.pages import CsrfTokens, choose_language
from otog_registry.oauth.pkce import is_valid_challenge, s256, verifier_matches
from otog_registry.oauth.redirects import form_action_source, redirect_uri_problem
from otog_registry.users.service import SignInPolicy

from tests.support.tokens import TokenFactory


def test_s256_matches_rfc_7636_appendix_b_and_authlib() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert s256(verifier) == create_s256_code_challenge(verifier)
    assert verifier_matches(verifier, s256(verifier))
    assert not verifier_matches(verifier + "x", s256(verifier))
    # Too short or outside the unreserved set: never a match, whatever the challenge.
    assert not verifier_matches("short", s256("short"))
    assert not verifier_matches("a" * 42 + "!", s256("a" * 42 + "!"))
    assert is_valid_challenge(s256(verifier))
    assert not is_valid_challenge(s256(verifier)[:42])
    assert not is_valid_challenge(s256(verifier) + "=")


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.go.th/callback",
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/cb",
        "http://localhost/cb",
        "th.go.mol.otog.field:/oauth/callback",
    ],
)
def test_redirect_uris_that_may_be_registered(uri: str) -> None:
    assert redirect_uri_problem(uri) is None


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example.go.th/callback",  # plain http off loopback
        "https://app.example.go.th/cb#frag",
        "myapp:/callback",  # a private-use scheme must be a reverse domain name
        "javascript:alert(1)",
        "https:///nohost",
        "",
    ],
)
def test_redirect_uris_that_may_not(uri: str) -> None:
    assert redirect_uri_problem(uri) is not None


def test_form_action_sources() -> None:
    assert form_action_source("http://127.0.0.1:8765/cb?x=1") == "http://127.0.0.1:8765"
    assert form_action_source("th.go.mol.otog.field:/oauth/callback") == "th.go.mol.otog.field:"


@pytest.mark.parametrize(
    ("explicit", "header", "expected"),
    [
        (None, "th-TH,th;q=0.9,en;q=0.8", "th"),
        (None, "en-US,en;q=0.9,th;q=0.8", "en"),
        (None, "th;q=0.2, en;q=0.5", "en"),
        (None, "fr-FR,de;q=0.5", "th"),
        (None, None, "th"),
        (None, "en;q=bad", "th"),
        ("en", "th", "en"),
        ("xx", "en", "en"),
    ],
)
def test_language_choice(explicit: str | None, header: str | None, expected: str) -> None:
    assert choose_language(explicit, header) == expected


def test_csrf_tokens() -> None:
    tokens = CsrfTokens(b"k" * 32)
    cookie = tokens.new_cookie()
    field = tokens.field_for(cookie)
    assert tokens.check(cookie, field)
    assert not tokens.check(cookie, None) and not tokens.check(None, field)
    assert not tokens.check(tokens.new_cookie(), field)
    assert not CsrfTokens(b"x" * 32).check(cookie, field)
    stale = f"{int(time.time()) - 7200}.abc"
    assert not tokens.check(stale, tokens.field_for(stale))


def test_slow_down_schedule() -> None:
    policy = SignInPolicy(
        delay_after=3,
        max_delay_seconds=60,
        lock_after=10,
        lock_seconds=900,
        address_delay_after=20,
        address_window_seconds=900,
    )
    waits = [policy.delay(n, 3) for n in range(1, 11)]
    seconds = [w.total_seconds() if w else 0 for w in waits]
    assert seconds == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60]


async def test_create_user_rules(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    admin = tokens.headers("admin")
    body: dict[str, Any] = {
        "username": "Somchai.K",
        "display_name": "สมชาย",
        "scopes": ["registry:read"],
        "province": "15",
    }
    r = await registry.post("/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "somchai.k" and r.json()["has_password"] is False
    again = await registry.post("/v1/users", json=body | {"username": "SOMCHAI.k"}, headers=admin)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/duplicate-user"
    personal = await registry.post(
        "/v1/users", json=body | {"username": "w1", "scopes": ["self"]}, headers=admin
    )
    assert personal.status_code == 422
    unknown = await registry.post(
        "/v1/users", json=body | {"username": "w2", "scopes": ["nope"]}, headers=admin
    )
    assert unknown.status_code == 422
    # An admin bound to province 62 creates users of province 62 only.
    provincial = tokens.headers("admin", province="62")
    assert (
        await registry.post("/v1/users", json=body | {"username": "w3"}, headers=provincial)
    ).status_code == 403
    assert (
        await registry.post(
            "/v1/users", json=body | {"username": "w4"}, headers=tokens.headers("registry:write")
        )
    ).status_code == 403
    short = await registry.put(
        f"/v1/users/{r.json()['username']}/password", json={"password": "short"}, headers=admin
    )
    assert short.status_code == 422
    assert (
        await registry.get(f"/v1/users/{r.json()['username']}", headers=provincial)
    ).status_code == 404


async def test_create_app_client_rules(registry: httpx.AsyncClient, tokens: TokenFactory) -> None:
    admin = tokens.headers("admin")
    app = {"name": "App", "type": "public", "scopes": ["registry:read"]}
    r = await registry.post(
        "/v1/clients", json=app | {"redirect_uris": ["http://evil.example/cb"]}, headers=admin
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "redirect_uris.0"
    assert (
        await registry.post("/v1/clients", json=app | {"redirect_uris": []}, headers=admin)
    ).status_code == 422
    assert (
        await registry.post(
            "/v1/clients",
            json=app | {"redirect_uris": ["https://a.example/cb"], "province": "15"},
            headers=admin,
        )
    ).status_code == 422
    ok = await registry.post(
        "/v1/clients", json=app | {"redirect_uris": ["https://a.example/cb"]}, headers=admin
    )
    assert ok.status_code == 201
    # A public client has no secret: the client-credentials grant is not for it.
    r = await registry.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ok.json()["client_id"],
            "client_secret": "x",
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
