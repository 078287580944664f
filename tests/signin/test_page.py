"""The sign-in page: headers, languages, phone-sized layout, no third-party assets,
and a real browser (headless Chromium) filling it in and following the redirect."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from otog_devstack.browser import CHROMIUM_ARGS, ensure_chromium

from tests.signin.conftest import PASSWORD, REDIRECT_URI, SignInStack, create_app, create_user
from tests.signin.test_refusals import authorize_url

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = ROOT / "build" / "signin"


async def test_page_headers_keep_it_out_of_caches_and_frames(
    gw: httpx.AsyncClient, signin_stack: SignInStack
) -> None:
    app = await create_app(gw, signin_stack.admin, ["registry:read"])
    r = await gw.get(authorize_url(app, create_s256_code_challenge(generate_token(64))))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers.get_list("x-frame-options") == ["DENY"]
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "form-action 'self' http://127.0.0.1:18999" in csp
    cookie = r.headers["set-cookie"]
    assert "otog_signin_csrf=" in cookie and "samesite=strict" in cookie.lower()
    assert "httponly" in cookie.lower()
    html = r.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # Nothing loaded from anywhere: no scripts at all, styles inline under the nonce.
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in html


async def test_thai_and_english(gw: httpx.AsyncClient, signin_stack: SignInStack) -> None:
    app = await create_app(gw, signin_stack.admin, ["registry:read"])
    url = authorize_url(app, create_s256_code_challenge(generate_token(64)))
    thai = await gw.get(url, headers={"Accept-Language": "th-TH,th;q=0.9,en;q=0.5"})
    assert '<html lang="th">' in thai.text and "เข้าสู่ระบบ" in thai.text
    english = await gw.get(url, headers={"Accept-Language": "en-GB,en;q=0.9,th;q=0.3"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    # Thai when the browser names neither; the switch link keeps the request.
    default = await gw.get(url, headers={"Accept-Language": "fr"})
    assert '<html lang="th">' in default.text
    switch = re.search(r'<a href="([^"]+)" hreflang="en"', default.text)
    assert switch
    switched = await gw.get(
        switch.group(1).replace("&amp;", "&"), headers={"Accept-Language": "th"}
    )
    assert '<html lang="en">' in switched.text and "Sign in" in switched.text


async def test_sign_in_page_in_headless_chromium(
    gw: httpx.AsyncClient, signin_stack: SignInStack
) -> None:
    from playwright.async_api import Route, async_playwright

    executable = ensure_chromium()
    app = await create_app(gw, signin_stack.admin, ["registry:read"])
    user = await create_user(gw, signin_stack.admin, ["registry:read"], "15")
    verifier = generate_token(64)
    url = signin_stack.gateway_url + authorize_url(app, create_s256_code_challenge(verifier))
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    landed: list[str] = []
    violations: list[str] = []

    async def app_callback(route: Route) -> None:
        # Stands for the app receiving the redirect: the URL is all it needs.
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>back in the app</p>")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            phone = await browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="th-TH",
                extra_http_headers={"Accept-Language": "th-TH,th;q=0.9"},
            )
            page = await phone.new_page()
            page.on(
                "console",
                lambda msg: (
                    violations.append(msg.text) if "Content Security Policy" in msg.text else None
                ),
            )
            await page.route(REDIRECT_URI + "*", app_callback)
            response = await page.goto(url)
            assert response is not None and response.status == 200
            assert await page.get_attribute("html", "lang") == "th"
            await page.fill("#username", user["username"])
            await page.fill("#password", PASSWORD)
            # The form fits a phone's width: no sideways scrolling.
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
            await page.screenshot(path=str(SCREENSHOT_DIR / "signin-page-th.png"), full_page=True)
            await page.click("button[type=submit]")
            await page.wait_for_url(REDIRECT_URI + "*")
            assert "back in the app" in await page.content()
            await page.goto(url.replace("&state=", "&lang=en&state="))
            await page.screenshot(path=str(SCREENSHOT_DIR / "signin-page-en.png"), full_page=True)
            await phone.close()
        finally:
            await browser.close()

    assert violations == []
    assert len(landed) == 1
    query = parse_qs(urlsplit(landed[0]).query)
    assert query["state"] == ["s-123"] and query["code"][0]
    token = await gw.post(
        "/v1/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "client_id": app,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    assert (SCREENSHOT_DIR / "signin-page-th.png").stat().st_size > 10_000
