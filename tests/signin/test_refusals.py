"""What the authorization server refuses, through the gateway: bad authorization
requests (with or without a redirect), bad code exchanges, bad sign-ins."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import asyncpg
import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from otog_devstack.postgres import plain_url

from tests.signin.conftest import (
    APP_REDIRECT_URI,
    PASSWORD,
    REDIRECT_URI,
    SignInStack,
    create_app,
    create_user,
    open_page,
)
from tests.support.stack import Databases

pytestmark = pytest.mark.e2e


def authorize_url(client_id: str, challenge: str | None, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "registry:read",
        "state": "s-123",
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= extra
    return "/v1/oauth/authorize?" + urlencode(params)


def redirect_params(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture(scope="module")
def officer_app(signin_stack: SignInStack) -> dict[str, Any]:
    async def make() -> dict[str, Any]:
        async with signin_stack.client() as gw:
            app = await create_app(gw, signin_stack.admin, ["registry:read"])
            user = await create_user(gw, signin_stack.admin, ["registry:read"], "15")
        return {"app": app, "user": user}

    return asyncio.run(make())


async def get_code(stack: SignInStack, app: str, username: str, verifier: str) -> tuple[str, str]:
    async with stack.client() as browser:
        page = await open_page(browser, authorize_url(app, create_s256_code_challenge(verifier)))
        done = await page.submit(username, PASSWORD)
    params = redirect_params(done)
    assert params["state"] == "s-123"
    return params["code"], verifier


def exchange(
    app: str, code: str, verifier: str, redirect_uri: str = REDIRECT_URI
) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": app,
        "code_verifier": verifier,
    }


# --- the authorization request ------------------------------------------------


async def test_missing_challenge_goes_back_as_invalid_request(
    gw: httpx.AsyncClient, officer_app: dict[str, Any]
) -> None:
    params = redirect_params(await gw.get(authorize_url(officer_app["app"], None)))
    assert params["error"] == "invalid_request" and params["state"] == "s-123"
    assert "code" not in params


async def test_plain_challenge_is_refused(
    gw: httpx.AsyncClient, officer_app: dict[str, Any]
) -> None:
    verifier = generate_token(64)
    plain = authorize_url(
        officer_app["app"], None, code_challenge=verifier[:43], code_challenge_method="plain"
    )
    params = redirect_params(await gw.get(plain))
    assert params["error"] == "invalid_request"
    assert "S256" in params["error_description"]
    # No method at all means plain (RFC 7636 §4.3): refused as well.
    implicit = authorize_url(officer_app["app"], None, code_challenge=verifier[:43])
    assert redirect_params(await gw.get(implicit))["error"] == "invalid_request"


async def test_scope_the_app_may_not_ask_for(
    gw: httpx.AsyncClient, officer_app: dict[str, Any]
) -> None:
    url = authorize_url(
        officer_app["app"], create_s256_code_challenge(generate_token(64)), scope="loans:approve"
    )
    assert redirect_params(await gw.get(url))["error"] == "invalid_scope"


async def test_unregistered_redirect_uri_is_never_redirected_to(
    gw: httpx.AsyncClient, officer_app: dict[str, Any]
) -> None:
    challenge = create_s256_code_challenge(generate_token(64))
    for evil in (
        "https://attacker.example/cb",
        REDIRECT_URI + "/",  # exact match only: no prefixes, no trailing slashes
        REDIRECT_URI.replace("18999", "18998"),
        APP_REDIRECT_URI.upper(),
    ):
        r = await gw.get(authorize_url(officer_app["app"], challenge, redirect_uri=evil))
        assert r.status_code == 400, evil
        assert "location" not in r.headers
        assert r.headers["content-type"].startswith("text/html")
        # Even with every other error present, nothing is sent to the unregistered URI.
        r = await gw.get(
            authorize_url(officer_app["app"], None, redirect_uri=evil, response_type="token")
        )
        assert r.status_code == 400 and "location" not in r.headers


async def test_unknown_client_gets_an_error_page(gw: httpx.AsyncClient) -> None:
    r = await gw.get(
        authorize_url("otog_app_unknown", create_s256_code_challenge(generate_token(64))),
        headers={"Accept-Language": "en"},
    )
    assert r.status_code == 400 and "location" not in r.headers
    assert "unknown" in r.text


async def test_a_confidential_client_cannot_use_the_sign_in_page(
    gw: httpx.AsyncClient, signin_stack: SignInStack
) -> None:
    r = await gw.post(
        "/v1/clients",
        json={"name": "server", "scopes": ["registry:read"]},
        headers=signin_stack.admin,
    )
    server = r.json()["client_id"]
    r = await gw.get(authorize_url(server, create_s256_code_challenge(generate_token(64))))
    assert r.status_code == 400 and "location" not in r.headers


# --- the code exchange ----------------------------------------------------------


async def test_wrong_verifier_is_invalid_grant_and_spends_the_code(
    gw: httpx.AsyncClient, signin_stack: SignInStack, officer_app: dict[str, Any]
) -> None:
    app, username = officer_app["app"], officer_app["user"]["username"]
    code, verifier = await get_code(signin_stack, app, username, generate_token(64))
    wrong = await gw.post("/v1/oauth/token", data=exchange(app, code, generate_token(64)))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json()["error_description"]
    # One attempt per code: the right verifier now comes too late.
    late = await gw.post("/v1/oauth/token", data=exchange(app, code, verifier))
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_reused_code_is_refused_and_revokes_what_it_issued(
    gw: httpx.AsyncClient, signin_stack: SignInStack, officer_app: dict[str, Any]
) -> None:
    app, username = officer_app["app"], officer_app["user"]["username"]
    code, verifier = await get_code(signin_stack, app, username, generate_token(64))
    first = await gw.post("/v1/oauth/token", data=exchange(app, code, verifier))
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    again = await gw.post("/v1/oauth/token", data=exchange(app, code, verifier))
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    refresh = await gw.post(
        "/v1/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": app,
        },
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


async def test_expired_code_is_refused(
    gw: httpx.AsyncClient,
    signin_stack: SignInStack,
    officer_app: dict[str, Any],
    databases: Databases,
) -> None:
    app, username = officer_app["app"], officer_app["user"]["username"]
    code, verifier = await get_code(signin_stack, app, username, generate_token(64))
    # Sixty seconds pass (the code's lifetime), without the test waiting them.
    conn = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    try:
        moved = await conn.execute(
            "UPDATE authorization_codes SET expires_at = now() - interval '1 second'"
            " WHERE code_hash = $1",
            hashlib.sha256(code.encode()).hexdigest(),
        )
        assert moved == "UPDATE 1"
    finally:
        await conn.close()
    r = await gw.post("/v1/oauth/token", data=exchange(app, code, verifier))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "expired" in r.json()["error_description"]


async def test_code_bound_to_redirect_uri_and_client(
    gw: httpx.AsyncClient, signin_stack: SignInStack, officer_app: dict[str, Any]
) -> None:
    app, username = officer_app["app"], officer_app["user"]["username"]
    code, verifier = await get_code(signin_stack, app, username, generate_token(64))
    r = await gw.post("/v1/oauth/token", data=exchange(app, code, verifier, APP_REDIRECT_URI))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    code, verifier = await get_code(signin_stack, app, username, generate_token(64))
    other = await create_app(gw, signin_stack.admin, ["registry:read"])
    r = await gw.post("/v1/oauth/token", data=exchange(other, code, verifier))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await gw.post("/v1/oauth/token", data=exchange("otog_app_nobody", code, verifier))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_token_endpoint_errors_in_rfc_6749_form(gw: httpx.AsyncClient) -> None:
    r = await gw.post("/v1/oauth/token", data={"grant_type": "password", "username": "x"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "unsupported_grant_type" and body["error_description"]
    assert body["type"] == "/problems/unsupported-grant-type"
    r = await gw.post("/v1/oauth/token", data={"client_id": "x"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


# --- the sign-in ------------------------------------------------------------------


async def test_wrong_password_shows_the_page_again(
    signin_stack: SignInStack, officer_app: dict[str, Any]
) -> None:
    challenge = create_s256_code_challenge(generate_token(64))
    async with signin_stack.client(headers={"Accept-Language": "en"}) as browser:
        page = await open_page(browser, authorize_url(officer_app["app"], challenge))
        r = await page.submit(officer_app["user"]["username"], "not the password")
        assert r.status_code == 400 and "location" not in r.headers
        assert "The username or password is wrong." in r.text
        unknown = await open_page(browser, authorize_url(officer_app["app"], challenge))
        r = await unknown.submit("nobody.at.all", PASSWORD)
        # An unknown username looks exactly like a wrong password.
        assert r.status_code == 400 and "The username or password is wrong." in r.text


async def test_form_without_its_csrf_token_is_refused(
    signin_stack: SignInStack, officer_app: dict[str, Any]
) -> None:
    url = authorize_url(officer_app["app"], create_s256_code_challenge(generate_token(64)))
    username = officer_app["user"]["username"]
    async with signin_stack.client() as browser:
        page = await open_page(browser, url)
        r = await browser.post(url, data={"username": username, "password": PASSWORD})
        assert r.status_code == 400 and "location" not in r.headers
        r = await browser.post(
            url, data={"username": username, "password": PASSWORD, "csrf_token": page.csrf + "x"}
        )
        assert r.status_code == 400 and "location" not in r.headers
    # A forged form from elsewhere has the field but not the cookie.
    async with signin_stack.client() as attacker:
        r = await attacker.post(
            url, data={"username": username, "password": PASSWORD, "csrf_token": page.csrf}
        )
        assert r.status_code == 400 and "location" not in r.headers


async def test_failures_slow_down_then_lock_the_account(
    gw: httpx.AsyncClient, signin_stack: SignInStack
) -> None:
    app = await create_app(gw, signin_stack.admin, ["registry:read"])
    user = await create_user(gw, signin_stack.admin, ["registry:read"])
    url = authorize_url(app, create_s256_code_challenge(generate_token(64)))
    async with signin_stack.client(headers={"Accept-Language": "en"}) as browser:

        async def attempt(password: str) -> httpx.Response:
            return await (await open_page(browser, url)).submit(user["username"], password)

        assert (await attempt("wrong 1")).status_code == 400
        assert (await attempt("wrong 2")).status_code == 400
        # Now every attempt waits a while; one too early is not even checked.
        early = await attempt(PASSWORD)
        assert early.status_code == 429 and "location" not in early.headers
        assert int(early.headers["retry-after"]) >= 1
        await asyncio.sleep(1.2)
        assert (await attempt("wrong 3")).status_code == 400
        await asyncio.sleep(1.2)
        locked = await attempt("wrong 4")
        assert locked.status_code == 429 and "locked" in locked.text
        await asyncio.sleep(1.2)
        # Locked: the right password does not help until the lock ends.
        still = await attempt(PASSWORD)
        assert still.status_code == 429 and "location" not in still.headers
        assert int(still.headers["retry-after"]) > 60

    # An administrator's password reset lifts the lock.
    r = await gw.put(
        f"/v1/users/{user['username']}/password",
        json={"password": PASSWORD},
        headers=signin_stack.admin,
    )
    assert r.status_code == 204
    async with signin_stack.client() as browser:
        done = await (await open_page(browser, url)).submit(user["username"], PASSWORD)
        assert done.status_code == 302

    events = (
        await gw.get(
            "/v1/audit-events",
            params={"entity_id": user["id"], "limit": 200},
            headers=signin_stack.admin,
        )
    ).json()["items"]
    actions = [e["action"] for e in events]
    assert actions.count("user.sign_in_failed") >= 5
    assert "user.locked" in actions and actions[-1] == "user.signed_in"
    reasons = {e["changes"].get("reason") for e in events if e["action"] == "user.sign_in_failed"}
    assert {"wrong_password", "account_throttled", "locked"} <= reasons
    for event in events:
        assert (
            event["actor"] == app
            or event["action"].startswith("user.password")
            or event["action"] == "user.created"
        )
        assert PASSWORD not in str(event) and "wrong 1" not in str(event)
