"""Funds: creation rules, scopes, figures, the opening ledger entry, listing."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.loans.conftest import THB, Auth, create_fund, fund_body, today_bkk


async def test_create_and_get_fund(loans: httpx.AsyncClient, auth: Auth) -> None:
    r = await loans.post(
        "/v1/funds", json=fund_body(name="กองทุน OTOG FY2568"), headers=auth.officer()
    )
    assert r.status_code == 201, r.text
    fund = r.json()
    assert r.headers["location"] == f"/v1/funds/{fund['id']}"
    assert r.headers["etag"]
    assert fund["name"] == "กองทุน OTOG FY2568"
    assert fund["budget_satang"] == 500_000_000
    assert fund["committed_satang"] == fund["disbursed_satang"] == fund["repaid_satang"] == 0
    assert fund["available_satang"] == 500_000_000
    assert fund["term_months"] == 24 and fund["interest_rate_bps"] == 0
    assert fund["installment_multiple_satang"] == 100 and fund["revolving"] is False
    assert fund["accepting_applications"] is True

    got = await loans.get(f"/v1/funds/{fund['id']}", headers=auth.reader())
    assert got.status_code == 200
    assert got.json() == fund
    assert got.headers["etag"] == r.headers["etag"]


async def test_fund_defaults(loans: httpx.AsyncClient, auth: Auth) -> None:
    body = fund_body()
    for field in ("term_months", "installment_multiple_satang", "revolving", "funding_source"):
        body.pop(field)
    r = await loans.post("/v1/funds", json=body, headers=auth.officer())
    assert r.status_code == 201, r.text
    assert r.json()["term_months"] == 24
    assert r.json()["installment_multiple_satang"] == 100
    assert r.json()["revolving"] is False


async def test_fund_opening_is_posted_to_the_ledger(loans: httpx.AsyncClient, auth: Auth) -> None:
    fund = await create_fund(loans, auth)
    r = await loans.get(f"/v1/funds/{fund['id']}/ledger", headers=auth.reader())
    assert r.status_code == 200, r.text
    [entry] = r.json()["items"]
    assert entry["kind"] == "fund_opened" and entry["amount_satang"] == 500_000_000
    assert entry["lines"] == [
        {"account": "available_budget", "debit_satang": 500_000_000, "credit_satang": 0},
        {"account": "fund_capital", "debit_satang": 0, "credit_satang": 500_000_000},
    ]
    assert entry["effective_on"] == today_bkk().isoformat()

    tb = (await loans.get(f"/v1/funds/{fund['id']}/trial-balance", headers=auth.reader())).json()
    assert tb["balanced"] and tb["reconciled"]
    assert tb["total_debits_satang"] == tb["total_credits_satang"] == 500_000_000
    balances = {a["code"]: a["balance_satang"] for a in tb["accounts"]}
    assert balances == {
        "available_budget": 500_000_000,
        "reserved_budget": 0,
        "loans_receivable": 0,
        "collections": 0,
        "fund_capital": 500_000_000,
    }


async def test_invalid_terms_are_422(loans: httpx.AsyncClient, auth: Auth) -> None:
    today = today_bkk()
    cases = [
        ({"budget_satang": 0}, "body.budget_satang"),
        ({"budget_satang": 1.5}, "body.budget_satang"),
        ({"budget_satang": "500000000"}, "body.budget_satang"),
        ({"interest_rate_bps": 150}, "body.interest_rate_bps"),
        ({"term_months": 0}, "body.term_months"),
        ({"province_code": "1"}, "body.province_code"),
        (
            {"applications_close_on": (today - timedelta(days=31)).isoformat()},
            "body.applications_close_on",
        ),
        ({"min_principal_satang": 400_000 * THB}, "body.max_principal_satang"),
        ({"max_principal_satang": 6_000_000 * THB}, "body.max_principal_satang"),
        ({"min_principal_satang": 2_000}, "body.min_principal_satang"),
        ({"unexpected": 1}, "body.unexpected"),
    ]
    for override, field in cases:
        r = await loans.post("/v1/funds", json=fund_body(**override), headers=auth.officer())
        assert r.status_code == 422, (override, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], (override, r.json())


async def test_duplicate_name_is_409(loans: httpx.AsyncClient, auth: Auth) -> None:
    fund = await create_fund(loans, auth)
    r = await loans.post("/v1/funds", json=fund_body(name=fund["name"]), headers=auth.officer())
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/duplicate-fund"


async def test_creating_a_fund_needs_a_national_approver(
    loans: httpx.AsyncClient, auth: Auth
) -> None:
    assert (await loans.post("/v1/funds", json=fund_body())).status_code == 401
    r = await loans.post("/v1/funds", json=fund_body(), headers=auth.writer())
    assert r.status_code == 403 and r.json()["missing_scopes"] == ["loans:approve"]
    r = await loans.post("/v1/funds", json=fund_body(), headers=auth.officer("10"))
    assert r.status_code == 403
    admin = auth.tokens.headers("admin")
    assert (await loans.post("/v1/funds", json=fund_body(), headers=admin)).status_code == 201


async def test_provincial_fund_visibility(loans: httpx.AsyncClient, auth: Auth) -> None:
    national = await create_fund(loans, auth)
    bangkok = await create_fund(loans, auth, province_code="10")
    chiang_mai = await create_fund(loans, auth, province_code="50")

    for fund in (national, bangkok):
        r = await loans.get(f"/v1/funds/{fund['id']}", headers=auth.reader("10"))
        assert r.status_code == 200
    r = await loans.get(f"/v1/funds/{chiang_mai['id']}", headers=auth.reader("10"))
    assert r.status_code == 404

    # The ledger of a national fund spans provinces: national clients only.
    r = await loans.get(f"/v1/funds/{national['id']}/ledger", headers=auth.reader("10"))
    assert r.status_code == 403
    r = await loans.get(f"/v1/funds/{bangkok['id']}/trial-balance", headers=auth.reader("10"))
    assert r.status_code == 200 and r.json()["balanced"]

    listed = await loans.get("/v1/funds?limit=200", headers=auth.reader("10"))
    ids = {f["id"] for f in listed.json()["items"]}
    assert {national["id"], bangkok["id"]} <= ids and chiang_mai["id"] not in ids


async def test_list_funds_pages(loans: httpx.AsyncClient, auth: Auth) -> None:
    created = [(await create_fund(loans, auth))["id"] for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await loans.get("/v1/funds", params=params, headers=auth.reader())
        assert r.status_code == 200, r.text
        seen += [f["id"] for f in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert set(created) <= set(seen)
    assert len(seen) == len(set(seen))
    bad = await loans.get("/v1/funds", params={"cursor": "nonsense"}, headers=auth.reader())
    assert bad.status_code == 422


async def test_unknown_fund_is_404(loans: httpx.AsyncClient, auth: Auth) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for path in ("", "/ledger", "/trial-balance", "/portfolio"):
        r = await loans.get(f"/v1/funds/{missing}{path}", headers=auth.reader())
        assert r.status_code == 404, path
        assert r.json()["type"] == "/problems/not-found"
