"""`make run demo=1` gives every console view something to show: the devstack's demo
step run on the three services' (rolled-back) test databases, twice (the second time
changes nothing), then read back through the console's endpoints."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from otog_shared.fiscal import current_fiscal_year, today_in_bangkok
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.tokens import TokenFactory

Pair = tuple[httpx.AsyncClient, AsyncSession]

TABLES = {
    "registry": ("groups", "workers", "products", "market_links", "field_visits", "users"),
    "training": ("training_sessions", "enrollments"),
    "loans": ("funds", "loans", "repayments"),
}


async def _counts(sessions: dict[str, AsyncSession]) -> dict[str, int]:
    out: dict[str, int] = {}
    for service, names in TABLES.items():
        for name in names:
            # The table names are the constants above.
            query = text(f"SELECT count(*) FROM {name}")  # noqa: S608
            out[name] = int((await sessions[service].execute(query)).scalar_one())
    return out


async def _get(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_demo_fills_every_view(
    registry_session: Pair,
    training_session: Pair,
    loans_session: Pair,
    tokens: TokenFactory,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otog_devstack.demo import console_redirect_uri, load_loans, load_registry, load_training
    from otog_devstack.postgres import free_port

    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))
    sessions = {
        "registry": registry_session[1],
        "training": training_session[1],
        "loans": loans_session[1],
    }
    port = free_port()

    async def load() -> dict[str, Any]:
        manifest, access = await load_registry(sessions["registry"], port)
        await load_training(sessions["training"], manifest)
        await load_loans(sessions["loans"], manifest)
        for session in sessions.values():
            await session.flush()
        return access

    access = await load()
    first = await _counts(sessions)
    assert await load() == access
    assert await _counts(sessions) == first

    assert access["client_id"] == "otog-console"
    assert access["redirect_uris"] == [console_redirect_uri(port)]
    await _registry_views(registry_session, tokens)
    await _training_views(training_session[0], tokens)
    await _loan_views(loans_session[0], tokens)


async def _registry_views(pair: Pair, tokens: TokenFactory) -> None:
    from otog_registry.groups.stages import JOURNEY, Stage
    from otog_registry.market.schemas import Partner
    from otog_registry.oauth.models import ApiClient
    from otog_registry.products.models import Certification
    from otog_registry.users.models import User
    from otog_registry.visits.models import FieldVisit

    registry, session = pair
    national = tokens.headers("registry:read")
    stats = await _get(registry, "/v1/stats/programme", national)
    assert stats["fiscal_year"] == current_fiscal_year()
    now = {s["stage"]: s["groups"] for s in stats["current_stages"]}
    assert all(now[s.value] >= 1 for s in Stage), now
    provinces = {p["province_code"] for p in stats["provinces"]}
    assert len(provinces) >= 10 and {"15", "62", "56"} <= provinces
    assert stats["targets"]["prototype_groups"] == 401
    assert stats["actuals"]["prototype_groups"] >= 15
    assert stats["actuals"]["full_cycle_groups"] >= 10
    assert stats["actuals"]["finish_by_groups"] >= 5
    reached = {s["stage"]: s["groups"] for s in stats["reached_stages"]}
    assert all(reached[s.value] >= 1 for s in JOURNEY if s != Stage.registered)

    sales = await _get(registry, "/v1/stats/market-sales", national)
    assert {r["partner"] for r in sales["rows"]} == {p.value for p in Partner}
    assert all(r["sales_satang"] > 0 for r in sales["rows"])

    soon = await session.scalar(
        select(func.count())
        .select_from(Certification)
        .where(Certification.expires_on <= today_in_bangkok() + timedelta(days=30))
    )
    assert soon is not None and soon >= 3
    visits = await session.scalar(select(func.count()).select_from(FieldVisit))
    assert visits is not None and visits >= 20

    officers = {u.username: u.province_code for u in (await session.scalars(select(User))).all()}
    assert officers == {"console-national": None, "console-ang-thong": "15"}
    console = await session.scalar(select(ApiClient).where(ApiClient.client_id == "otog-console"))
    assert console is not None and console.client_type == "public"
    assert console.secret_hash is None

    # Ang Thong's officer sees Ang Thong's groups only.
    mine = await _get(
        registry, "/v1/stats/programme", tokens.headers("registry:read", province="15")
    )
    assert [p["province_code"] for p in mine["provinces"]] == ["15"]


async def _training_views(training: httpx.AsyncClient, tokens: TokenFactory) -> None:
    stats = await _get(training, "/v1/stats/training", tokens.headers("training:read"))
    rates = sorted(r["fill_rate_bps"] for r in stats["rows"])
    assert len(stats["rows"]) == 10
    # From an empty (cancelled) area through half-full ones to a full one with a queue.
    assert rates[0] == 0 and rates[-1] == 10_000
    assert any(2_000 <= r <= 8_000 for r in rates)
    totals = stats["totals"]
    assert totals["waitlisted"] == 10 and totals["cancelled_sessions"] == 1
    assert totals["below_minimum_sessions"] == 4


async def _loan_views(loans: httpx.AsyncClient, tokens: TokenFactory) -> None:
    stats = await _get(loans, "/v1/stats/loans", tokens.headers("loans:read"))
    statuses = {s["status"]: s["loans"] for s in stats["totals"]["loans_by_status"]}
    assert all(n >= 1 for n in statuses.values()), statuses
    assert all(b["loans"] >= 1 for b in stats["totals"]["buckets"]), stats["totals"]
    assert stats["totals"]["committed_satang"] > 0 and stats["totals"]["arrears_satang"] > 0
    assert len(stats["rows"]) >= 10
    assert stats["fund_totals"] is not None and len(stats["funds"]) == 3
