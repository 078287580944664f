"""GET /v1/stats/loans: loans, money and the portfolio at risk per province, checked
against the loans as GET /v1/loans shows them; and the list's province filter."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx

from tests.loans.conftest import BANGKOK, CHIANG_MAI, THB, Auth, Groups, create_fund
from tests.registry.conftest import assert_problem

BUCKETS = (("current", 0, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90))


def bucket_of(days: int) -> str:
    return next((name for name, low, high in BUCKETS if low <= days <= high), "90+")


async def _all_loans(
    loans: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await loans.get(
            "/v1/loans",
            params={"limit": "100", **params, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


class Book:
    def __init__(self, loans: httpx.AsyncClient, auth: Auth, groups: Groups) -> None:
        self.loans, self.auth, self.groups = loans, auth, groups

    async def loan(
        self, fund: dict[str, Any], subdistrict: str, *actions: tuple[str, dict[str, Any] | None]
    ) -> dict[str, Any]:
        group = await self.groups.create(subdistrict)
        r = await self.loans.post(
            "/v1/loans",
            json={
                "fund_id": fund["id"],
                "group_id": group["id"],
                "principal_satang": 60_000 * THB,
                "purpose": "Looms and yarn",
            },
            headers=self.auth.officer(),
        )
        assert r.status_code == 201, r.text
        loan: dict[str, Any] = r.json()
        for action, body in actions:
            r = await self.loans.post(
                f"/v1/loans/{loan['id']}/{action}", json=body, headers=self.auth.officer()
            )
            assert r.status_code == 200, r.text
            loan = r.json()
        return loan

    async def repay(self, loan: dict[str, Any], amount: int, paid_on: date) -> None:
        r = await self.loans.post(
            f"/v1/loans/{loan['id']}/repayments",
            json={"amount_satang": amount, "paid_on": paid_on.isoformat()},
            headers=self.auth.with_key(self.auth.officer()),
        )
        assert r.status_code == 201, r.text


async def _portfolio(
    loans: httpx.AsyncClient, book: Book, today: date
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A national fund with loans in every status in two provinces, and one of Chiang
    Mai's own; disbursed loans in each bucket of days past due."""
    fund = await create_fund(loans, book.auth)
    own = await create_fund(loans, book.auth, province_code="50", budget_satang=1_000_000 * THB)

    def disbursed(days_ago: int) -> tuple[str, dict[str, Any]]:
        return ("disburse", {"disbursed_on": (today - timedelta(days=days_ago)).isoformat()})

    approve = ("approve", None)
    await book.loan(fund, BANGKOK)  # submitted
    await book.loan(fund, BANGKOK, approve)  # approved: committed
    await book.loan(fund, BANGKOK, ("reject", {"note": "Incomplete papers"}))
    await book.loan(fund, CHIANG_MAI, ("withdraw", {"note": "Group changed its plan"}))
    await book.loan(fund, BANGKOK, approve, disbursed(10))  # nothing due yet: current
    await book.loan(fund, CHIANG_MAI, approve, disbursed(45))  # 1-30 days past due
    await book.loan(fund, CHIANG_MAI, approve, disbursed(80))  # 31-60
    await book.loan(fund, BANGKOK, approve, disbursed(110))  # 61-90
    late = await book.loan(fund, BANGKOK, approve, disbursed(200))  # 90+
    await book.repay(late, 2_500 * THB, today - timedelta(days=100))
    paid_up = await book.loan(own, CHIANG_MAI, approve, disbursed(40))
    await book.repay(paid_up, 60_000 * THB, today - timedelta(days=5))  # closed
    return fund, own


def _expected(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of ``items`` (GET /v1/loans) as the stats should give them."""
    statuses: Counter[str] = Counter(loan["status"] for loan in items)
    out = [loan for loan in items if loan["outstanding_satang"] > 0]
    buckets: Counter[str] = Counter(bucket_of(loan["days_past_due"]) for loan in out)
    return {
        "statuses": dict(statuses),
        "committed": sum(x["principal_satang"] for x in items if x["status"] == "approved"),
        "disbursed": sum(x["principal_satang"] for x in items if x["disbursed_on"]),
        "repaid": sum(x["paid_satang"] for x in items),
        "outstanding": sum(x["outstanding_satang"] for x in items),
        "arrears": sum(x["arrears_satang"] for x in items),
        "buckets": {name: buckets[name] for name in ("current", "1-30", "31-60", "61-90", "90+")},
    }


def _actual(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        "statuses": {s["status"]: s["loans"] for s in figures["loans_by_status"] if s["loans"]},
        "committed": figures["committed_satang"],
        "disbursed": figures["disbursed_satang"],
        "repaid": figures["repaid_satang"],
        "outstanding": figures["outstanding_satang"],
        "arrears": figures["arrears_satang"],
        "buckets": {b["bucket"]: b["loans"] for b in figures["buckets"]},
    }


async def test_figures_match_the_loans(
    loans: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    from otog_loan_ledger.clock import bangkok_today

    today = bangkok_today()
    fund, own = await _portfolio(loans, Book(loans, auth, groups), today)
    national = auth.reader()
    r = await loans.get("/v1/stats/loans", params={"as_of": today.isoformat()}, headers=national)
    assert r.status_code == 200, r.text
    stats = r.json()
    items = await _all_loans(loans, national, as_of=today.isoformat())

    assert _actual(stats["totals"]) == _expected(items)
    # Every bucket has one loan; the paid-up loan is in none.
    assert _actual(stats["totals"])["buckets"] == dict.fromkeys(
        ("current", "1-30", "31-60", "61-90", "90+"), 1
    )
    assert stats["totals"]["at_risk_satang"] == (
        stats["totals"]["outstanding_satang"] - stats["totals"]["buckets"][0]["outstanding_satang"]
    )
    for row in stats["rows"]:
        mine = [x for x in items if x["province_code"] == row["province_code"]]
        assert _actual(row) == _expected(mine), row["province_code"]
    assert [r["province_code"] for r in stats["rows"]] == ["10", "50"]

    # The funds' own figures, as GET /v1/funds/{id} shows them.
    funds = {f["fund_id"]: f for f in stats["funds"]}
    for f in (fund, own):
        now = (await loans.get(f"/v1/funds/{f['id']}", headers=national)).json()
        for key in ("budget_satang", "committed_satang", "disbursed_satang", "repaid_satang"):
            assert funds[f["id"]][key] == now[key], key
        assert funds[f["id"]]["available_satang"] == now["available_satang"]
    assert stats["fund_totals"]["budget_satang"] == sum(f["budget_satang"] for f in stats["funds"])

    # Before any disbursement, nothing is outstanding.
    early = (
        await loans.get(
            "/v1/stats/loans",
            params={"as_of": (today - timedelta(days=365)).isoformat()},
            headers=national,
        )
    ).json()
    assert early["totals"]["disbursed_satang"] == early["totals"]["outstanding_satang"] == 0


async def test_province_bound_callers_and_the_list_filter(
    loans: httpx.AsyncClient, auth: Auth, groups: Groups
) -> None:
    from otog_loan_ledger.clock import bangkok_today

    today = bangkok_today()
    await _portfolio(loans, Book(loans, auth, groups), today)
    chiang_mai = auth.reader(province="50")

    mine = (await loans.get("/v1/stats/loans", headers=chiang_mai)).json()
    assert mine["province"] == "50"
    assert [r["province_code"] for r in mine["rows"]] == ["50"]
    national = (
        await loans.get("/v1/stats/loans", params={"province": "50"}, headers=auth.reader())
    ).json()
    assert mine["totals"] == national["totals"]
    assert _actual(mine["totals"]) == _actual(national["rows"][0])
    assert mine["totals"]["loans_by_status"] != []
    # Only the province's own fund: the national fund's figures span provinces.
    assert [f["province_code"] for f in mine["funds"]] == ["50"]

    other = (
        await loans.get("/v1/stats/loans", params={"province": "10"}, headers=chiang_mai)
    ).json()
    assert other["rows"] == [] and other["funds"] == [] and other["fund_totals"] is None
    assert other["totals"]["outstanding_satang"] == 0

    # GET /v1/loans?province=
    bangkok = await _all_loans(loans, auth.reader(), province="10")
    assert bangkok and {x["province_code"] for x in bangkok} == {"10"}
    assert await _all_loans(loans, chiang_mai, province="10") == []
    assert {x["province_code"] for x in await _all_loans(loans, chiang_mai)} == {"50"}
    one = bangkok[0]
    by_group = await _all_loans(loans, auth.reader(), group_id=one["group_id"])
    assert [x["id"] for x in by_group] == [one["id"]]

    assert_problem(await loans.get("/v1/stats/loans"), 401)
    assert_problem(
        await loans.get("/v1/stats/loans", headers=auth.tokens.headers("registry:read")), 403
    )
    assert_problem(
        await loans.get("/v1/stats/loans", params={"province": "5"}, headers=auth.reader()), 422
    )
    assert_problem(
        await loans.get("/v1/stats/loans", params={"as_of": "2025-02-30"}, headers=auth.reader()),
        422,
    )
