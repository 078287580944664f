"""The programme console in headless Chromium at tablet size, on the demo data: every
view opened after a real sign-in, its figures checked against the API's, Thai and
English, a province officer kept to their province, a booking shown live, and sign-out
revoking the tokens. Screenshots of each view go to build/console/screenshots."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.async_api import expect

from tests.console.conftest import (
    OURS,
    READ_ALL,
    SCREENSHOTS,
    THEIRS,
    ConsoleStack,
    SignedIn,
    sign_in,
)
from tests.support.tokens import TokenFactory
from tests.training.helpers import create_worker

pytestmark = pytest.mark.e2e

STAGES = ["registered", "prototype", "training", "product_development", "funding", "marketing"]


async def table(page: Any, selector: str) -> list[list[str]]:
    rows = await page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))",
    )
    return [list(r) for r in rows]


def number(text: str) -> int:
    """A count or a baht amount as shown (Thai or English digits grouping) in satang or units."""
    digits = re.sub(r"[^0-9.]", "", text)
    return round(float(digits) * 100) if "." in digits else int(digits)


async def api(stack: ConsoleStack, tokens: TokenFactory, path: str, **params: Any) -> Any:
    async with stack.client() as gw:
        r = await gw.get(path, params=params, headers=tokens.headers(*READ_ALL))
        assert r.status_code == 200, r.text
        return r.json()


async def show(page: Any, hash_: str, ready: str) -> None:
    await page.evaluate(f"location.hash = {hash_!r}")
    await page.wait_for_selector(ready)


async def test_national_view_shows_the_apis_figures(
    national: SignedIn, console_stack: ConsoleStack, tokens: TokenFactory
) -> None:
    page = national.page
    await show(page, "#/national", "#stage-totals tbody tr")
    assert await page.get_attribute("html", "lang") == "th"
    year = int(await page.input_value("#fiscal-year"))
    stats = await api(console_stack, tokens, "/v1/stats/groups-by-stage", fiscal_year=year)
    totals = {r["stage"]: r["groups"] for r in stats["totals"]}
    shown = await table(page, "#stage-totals")
    assert [number(r[1]) for r in shown] == [totals.get(s, 0) for s in STAGES]
    assert totals.get("prototype", 0) >= 1

    programme = await api(console_stack, tokens, "/v1/stats/programme", fiscal_year=year)
    targets = await table(page, "#targets")
    keys = ["prototype_groups", "full_cycle_groups", "finish_by_groups"]
    assert [number(r[2]) for r in targets] == [programme["actuals"][k] for k in keys]
    if programme["targets"]:
        assert [number(r[1]) for r in targets] == [programme["targets"][k] for k in keys]
    shown_provinces = {
        href.rsplit("/", 1)[1]: number(row[1])
        for href, row in zip(
            await page.eval_on_selector_all(
                "#prototypes-by-province tbody a", "as => as.map(a => a.getAttribute('href'))"
            ),
            await table(page, "#prototypes-by-province"),
            strict=True,
        )
    }
    expected = {
        p["province_code"]: p["prototype_groups"]
        for p in programme["provinces"]
        if p["prototype_groups"] or p["full_cycle_groups"] or p["finish_by_groups"]
    }
    assert shown_provinces == expected
    assert {OURS, THEIRS} <= set(expected)

    loans = await api(console_stack, tokens, "/v1/stats/loans")
    funds = await page.locator("#fund-figures dd").all_inner_texts()
    assert [number(f) for f in funds] == [
        loans["fund_totals"]["budget_satang"],
        loans["fund_totals"]["committed_satang"],
        loans["fund_totals"]["disbursed_satang"],
        loans["fund_totals"]["repaid_satang"],
        loans["totals"]["arrears_satang"],
        loans["fund_totals"]["available_satang"],
    ]
    await page.screenshot(path=str(SCREENSHOTS / "national-th.png"), full_page=True)

    # FY2568, the year the programme's targets were announced for: targets beside actuals.
    await page.select_option("#fiscal-year", "2568")
    announced = await api(console_stack, tokens, "/v1/stats/programme", fiscal_year=2568)
    assert announced["targets"] is not None
    await expect(page.locator("#targets tbody tr").first.locator("td").first).to_have_text(
        f"{announced['targets']['prototype_groups']:,}"
    )
    targets = await table(page, "#targets")
    assert [number(r[1]) for r in targets] == [announced["targets"][k] for k in keys]
    assert [number(r[2]) for r in targets] == [announced["actuals"][k] for k in keys]
    await page.screenshot(path=str(SCREENSHOTS / "national-2568-th.png"), full_page=True)


async def test_tile_map_places_77_provinces_and_drills_down(
    national: SignedIn, console_stack: ConsoleStack, tokens: TokenFactory
) -> None:
    page = national.page
    await show(page, "#/map", ".tile-map .tile")
    tiles = await page.eval_on_selector_all(
        ".tile",
        "ts => ts.map(t => [t.dataset.province, Number(t.dataset.value),"
        " getComputedStyle(t).gridColumnStart, getComputedStyle(t).gridRowStart])",
    )
    assert len(tiles) == 77
    # One province per cell, laid out from the coordinates: Chiang Mai north of Songkhla,
    # Ubon Ratchathani east of Tak.
    assert len({(c, r) for _, _, c, r in tiles}) == 77
    cell = {p: (int(c), int(r)) for p, _, c, r in tiles}
    assert cell["50"][1] < cell["90"][1] and cell["34"][0] > cell["63"][0]
    year = int(await page.input_value("#fiscal-year"))
    stats = await api(console_stack, tokens, "/v1/stats/groups-by-stage", fiscal_year=year)
    groups: dict[str, int] = {}
    for r in stats["rows"]:
        groups[r["province_code"]] = groups.get(r["province_code"], 0) + r["groups"]
    assert {p: v for p, v, _, _ in tiles if v} == groups
    await page.select_option("#map-indicator", "prototypes")
    prototypes = {
        r["province_code"]: r["groups"] for r in stats["rows"] if r["stage"] == "prototype"
    }
    await expect(page.locator(f'[data-province="{THEIRS}"]')).to_have_attribute(
        "data-value", str(prototypes[THEIRS])
    )
    await page.select_option("#map-indicator", "par")
    loans = await api(console_stack, tokens, "/v1/stats/loans")
    par = {r["province_code"]: r["par_bps"] for r in loans["rows"]}
    await expect(page.locator(f'[data-province="{OURS}"]')).to_have_attribute(
        "data-value", str(par[OURS])
    )
    await page.screenshot(path=str(SCREENSHOTS / "map-th.png"), full_page=True)
    await page.click(f'[data-province="{OURS}"]')
    await page.wait_for_selector("#province-stages tbody tr")
    assert page.url.endswith(f"#/province/{OURS}")


async def test_province_view_shows_the_apis_figures(
    national: SignedIn, console_stack: ConsoleStack, tokens: TokenFactory
) -> None:
    page = national.page
    await show(page, f"#/province/{OURS}", "#province-sessions tbody tr")
    await page.wait_for_selector("#province-sales tbody tr")
    await page.wait_for_selector("#province-stages tbody tr")
    year = int(await page.input_value("#fiscal-year"))
    stats = await api(
        console_stack, tokens, "/v1/stats/groups-by-stage", fiscal_year=year, province=OURS
    )
    totals = {r["stage"]: r["groups"] for r in stats["totals"]}
    shown = await table(page, "#province-stages")
    assert [number(r[1]) for r in shown] == [totals.get(s, 0) for s in STAGES]

    sessions = await api(console_stack, tokens, "/v1/training-sessions", province=OURS)
    ours = next(s for s in sessions["items"] if s["id"] == console_stack.data["session"])
    confirmed = page.locator(f'[data-session="{ours["id"]}"][data-field="confirmed"]')
    assert number(await confirmed.inner_text()) == ours["confirmed_count"]

    sales = await api(
        console_stack, tokens, "/v1/stats/market-sales", fiscal_year=year, province=OURS
    )
    foot = await page.eval_on_selector_all(
        "#province-sales tfoot td", "cs => cs.map(c => c.textContent.trim())"
    )
    assert number(foot[-1]) == sales["sales_satang"] > 0
    rows = await table(page, "#province-sales")
    commerce = sum(r["sales_satang"] for r in sales["rows"] if r["partner"] == "commerce")
    assert number(rows[1][3]) == commerce

    await page.wait_for_selector("#province-par tbody tr")
    loans = await api(console_stack, tokens, "/v1/stats/loans", province=OURS)
    ours_loans = next(r for r in loans["rows"] if r["province_code"] == OURS)
    buckets = await table(page, "#province-par")
    assert [(number(b[1]), number(b[2]), number(b[3])) for b in buckets] == [
        (b["loans"], b["outstanding_satang"], b["arrears_satang"]) for b in ours_loans["buckets"]
    ]
    assert ours_loans["arrears_satang"] > 0
    listed = await page.eval_on_selector_all(
        "#province-loans tbody a", "as => as.map(a => a.getAttribute('href'))"
    )
    assert f"#/group/{console_stack.data['group']}" in listed

    groups = await page.eval_on_selector_all(
        "#province-groups a", "as => as.map(a => a.getAttribute('href'))"
    )
    assert f"#/group/{console_stack.data['group']}" in groups
    assert f"#/group/{console_stack.data['other_group']}" not in groups
    await page.screenshot(path=str(SCREENSHOTS / "province-th.png"), full_page=True)


async def test_group_view_shows_the_journey_products_visits_and_loans(
    national: SignedIn, console_stack: ConsoleStack, tokens: TokenFactory
) -> None:
    page = national.page
    gid = console_stack.data["group"]
    await show(page, f"#/group/{gid}", "#group-journey li")
    changes = await api(console_stack, tokens, f"/v1/groups/{gid}/stage-changes")
    assert await page.locator("#group-journey li").count() == len(changes["items"]) >= 2
    members = await api(console_stack, tokens, f"/v1/groups/{gid}/members")
    assert number(await page.inner_text("#group-members")) == len(members["items"]) == 3
    badge = await page.inner_text("#group-products .badge.cert.valid")
    assert "TCPS" in badge and "มผช. 14/2566" in badge
    visits = await table(page, "#group-visits")
    assert len(visits) == 1 and "Looms installed" in visits[0][1]
    loan = await api(console_stack, tokens, f"/v1/loans/{console_stack.data['loan']}")
    schedule = await api(console_stack, tokens, f"/v1/loans/{loan['id']}/schedule")
    article = page.locator(f'[data-loan="{loan["id"]}"]')
    assert await article.locator("tbody tr").count() == len(schedule["installments"])
    figures = await article.locator(".figures dd").all_inner_texts()
    assert number(figures[0]) == loan["outstanding_satang"]
    assert number(figures[1]) == loan["arrears_satang"] > 0
    # Members are counted, never listed: no name nor any part of an ID on the page.
    body = await page.inner_text("main")
    assert "สมศรี" not in body and "XXX" not in body.upper()
    assert gid in page.url and "national" not in page.url
    await page.screenshot(path=str(SCREENSHOTS / "group-th.png"), full_page=True)


async def test_switching_language_changes_the_text_and_the_lang_attribute(
    national: SignedIn,
) -> None:
    page = national.page
    await show(page, "#/national", "#stage-totals tbody tr")
    thai_heading = await page.inner_text("#view-title")
    await page.click("#switch-language")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    assert await page.inner_text("#view-title") == "National progress" != thai_heading
    assert "Prototype" in await page.inner_text("#stage-totals")
    await page.screenshot(path=str(SCREENSHOTS / "national-en.png"), full_page=True)
    await show(page, f"#/province/{OURS}", "#province-sessions tbody tr")
    assert "Ang Thong" in await page.inner_text("#view-title")
    await page.screenshot(path=str(SCREENSHOTS / "province-en.png"), full_page=True)
    # The keyboard reaches the switch, and Enter turns it back to Thai.
    await page.focus("#switch-language")
    await page.keyboard.press("Enter")
    await expect(page.locator("html")).to_have_attribute("lang", "th")
    assert national.csp_violations == []


async def test_a_province_officer_cannot_reach_another_province(
    provincial: SignedIn, console_stack: ConsoleStack
) -> None:
    page = provincial.page
    await page.wait_for_selector("#province-stages tbody tr")
    nav = await page.eval_on_selector_all(
        "header nav a", "as => as.map(a => a.getAttribute('href'))"
    )
    assert nav == [f"#/province/{OURS}"]
    # The national view and the map are not offered: the province's page stands for them.
    for route in ("#/national", "#/map"):
        await show(page, route, "#province-stages tbody tr")
        assert await page.locator(".tile-map").count() == 0
    await show(page, f"#/province/{THEIRS}", "#not-allowed")
    assert await page.locator("#province-stages").count() == 0
    # A group of the other province by its address: the API refuses, the page says so.
    await show(page, f"#/group/{console_stack.data['other_group']}", "main .error")
    assert await page.locator("#group-journey").count() == 0
    await show(page, f"#/group/{console_stack.data['group']}", "#group-journey li")
    await page.screenshot(path=str(SCREENSHOTS / "group-provincial-th.png"), full_page=True)
    assert provincial.csp_violations == []


async def test_a_booking_appears_without_a_reload(
    national: SignedIn, console_stack: ConsoleStack, tokens: TokenFactory
) -> None:
    page = national.page
    await show(page, f"#/province/{OURS}", "#province-sessions tbody tr")
    session_id = console_stack.data["session"]
    cell = page.locator(f'[data-session="{session_id}"][data-field="confirmed"]')
    before = number(await cell.inner_text())
    await page.evaluate("window.__noReload = true")
    async with console_stack.client() as gw:
        worker = await create_worker(gw, tokens, f"{OURS}0101")
        r = await gw.post(
            f"/v1/training-sessions/{session_id}/enrollments",
            json={"worker_id": worker},
            headers=tokens.headers("training:write", "training:read"),
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "confirmed"
    booked = time.monotonic()
    await expect(cell).to_have_text(str(before + 1), timeout=15_000)
    print(f"booking shown after {time.monotonic() - booked:.1f} s")
    assert await page.evaluate("window.__noReload") is True


async def test_sign_out_revokes_the_sign_in(browser: Any, console_stack: ConsoleStack) -> None:
    signed = await sign_in(browser, console_stack, console_stack.national)
    page = signed.page
    try:
        refresh = await page.evaluate("sessionStorage.getItem('otog-console.refresh')")
        assert refresh
        assert await page.evaluate("localStorage.length") == 0
        await page.click("#sign-out")
        await page.wait_for_selector("#sign-in")
        assert await page.evaluate("sessionStorage.getItem('otog-console.refresh')") is None
        # Signed out, the console stops following the event feed (it polls every 2 s).
        polls: list[str] = []
        page.on("request", lambda r: polls.append(r.url) if "/v1/events" in r.url else None)
        await page.wait_for_timeout(2_500)
        assert polls == []
        async with console_stack.client() as gw:
            r = await gw.post(
                "/v1/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": refresh,
                    "client_id": console_stack.client_id,
                },
            )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    finally:
        await page.context.close()


async def test_the_console_is_served_under_a_strict_policy(console_stack: ConsoleStack) -> None:
    async with console_stack.client() as gw:
        page = await gw.get("/console/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["referrer-policy"] == "no-referrer"
        html = page.text
        assert f'content="{console_stack.client_id}"' in html
        # Nothing from elsewhere: the page and its bundle come from the gateway.
        assert not re.search(r'(src|href)="(https?:)?//', html)
        script = await gw.get("/console/console.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "https://cdn" not in script.text
        back = await gw.get("/console", follow_redirects=False)
        assert back.status_code == 301 and back.headers["location"].endswith("/console/")
        assert (await gw.post("/console/", content=b"")).status_code == 405
