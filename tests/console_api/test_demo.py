"""`make run demo=1` gives every console view something to show: loaded into fresh
databases, twice (the second time changes nothing), then read back through each
service's own figures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from otog_devstack.postgres import asyncpg_url, ensure_databases, free_port, with_database
from otog_devstack.stack import SERVICES
from otog_shared.auth import Principal
from otog_shared.db import create_sessionmaker
from otog_shared.fiscal import current_fiscal_year, fiscal_year_bounds, today_in_bangkok
from otog_shared.migrations import upgrade
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

T = TypeVar("T")
NATIONAL = Principal(client_id="console-test", scopes=frozenset({"admin"}))


def _read(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_async_engine(url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def demo_urls(pg_server_url: str, data_dir: Path) -> dict[str, str]:
    names = {s.name: f"test_console_demo_{s.database}" for s in SERVICES}
    ensure_databases(pg_server_url, list(names.values()), recreate=True)
    urls = {name: asyncpg_url(with_database(pg_server_url, db)) for name, db in names.items()}
    for spec in SERVICES:
        upgrade(spec.package, urls[spec.name])
    return urls


def _counts(urls: dict[str, str]) -> dict[str, int]:
    tables = {
        "registry": ("groups", "workers", "products", "market_links", "field_visits", "users"),
        "training": ("training_sessions", "enrollments"),
        "loan-ledger": ("funds", "loans", "repayments"),
    }

    async def count(session: AsyncSession, names: tuple[str, ...]) -> dict[str, int]:
        return {
            # The table names are the constants above.
            n: int((await session.execute(text(f"SELECT count(*) FROM {n}"))).scalar_one())  # noqa: S608
            for n in names
        }

    out: dict[str, int] = {}
    for service, names in tables.items():
        out |= _read(urls[service], lambda s, names=names: count(s, names))  # type: ignore[misc]
    return out


def test_demo_fills_every_view(
    demo_urls: dict[str, str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otog_devstack.demo import console_redirect_uri, load_demo

    monkeypatch.setenv("REGISTRY_DATA_DIR", str(data_dir))
    port = free_port()
    load_demo(demo_urls, gateway_port=port)
    first = _counts(demo_urls)
    load_demo(demo_urls, gateway_port=port)
    assert _counts(demo_urls) == first

    year = current_fiscal_year()
    today = today_in_bangkok()
    _registry_views(demo_urls["registry"], year, today, console_redirect_uri(port))
    _training_views(demo_urls["training"], year)
    _loan_views(demo_urls["loan-ledger"])


def _registry_views(url: str, year: int, today: object, redirect_uri: str) -> None:
    from otog_registry.access import ProvinceScope
    from otog_registry.groups.stages import Stage
    from otog_registry.market.schemas import Partner
    from otog_registry.oauth.models import ApiClient
    from otog_registry.products.models import Certification
    from otog_registry.stats.repository import StatsRepository
    from otog_registry.stats.service import ProgrammeStatsService
    from otog_registry.users.models import User
    from otog_registry.visits.models import FieldVisit

    async def check(session: AsyncSession) -> None:
        stats = await ProgrammeStatsService(StatsRepository(session)).programme(
            year, ProvinceScope(None)
        )
        now = {s.stage: s.groups for s in stats.current_stages}
        assert all(now[s] >= 1 for s in Stage), now
        provinces = {p.province_code for p in stats.provinces}
        assert len(provinces) >= 10 and {"15", "62", "56"} <= provinces
        assert stats.targets is not None and stats.actuals.prototype_groups >= 15
        assert stats.actuals.full_cycle_groups >= 10
        reached = {s.stage: s.groups for s in stats.reached_stages}
        assert all(reached[s] >= 1 for s in reached if s != Stage.registered)

        sales = await StatsRepository(session).sales(fiscal_year_bounds(year), None)
        assert {r[3] for r in sales} == {p.value for p in Partner}
        assert all(r[6] > 0 for r in sales)

        soon = await session.scalar(
            select(func.count())
            .select_from(Certification)
            .where(Certification.expires_on <= today + timedelta(days=30))  # type: ignore[operator]
        )
        assert soon and soon >= 3
        assert (await session.scalar(select(func.count()).select_from(FieldVisit)) or 0) >= 20

        officers = {
            u.username: u.province_code for u in (await session.scalars(select(User))).all()
        }
        assert officers == {"console-national": None, "console-ang-thong": "15"}
        console = await session.scalar(
            select(ApiClient).where(ApiClient.client_id == "otog-console")
        )
        assert console is not None and console.client_type == "public"
        assert console.redirect_uris == [redirect_uri] and console.secret_hash is None

    _read(url, check)


def _training_views(url: str, year: int) -> None:
    from otog_training.stats.repository import TrainingStatsRepository
    from otog_training.stats.service import TrainingStatsService

    async def check(session: AsyncSession) -> None:
        stats = await TrainingStatsService(TrainingStatsRepository(session)).per_province(
            NATIONAL, year, None
        )
        rates = sorted(r.fill_rate_bps for r in stats.rows)
        assert len(stats.rows) == 10
        # From an empty (cancelled) area through half-full ones to a full one with a queue.
        assert rates[0] == 0 and rates[-1] == 10_000
        assert any(2_000 <= r <= 8_000 for r in rates)
        assert stats.totals.waitlisted == 10 and stats.totals.cancelled_sessions == 1
        assert stats.totals.below_minimum_sessions == 4

    _read(url, check)


def _loan_views(url: str) -> None:
    from otog_loan_ledger.clock import bangkok_today
    from otog_loan_ledger.loans.transitions import LoanStatus
    from otog_loan_ledger.stats.service import LoanStatsService

    async def check(session: AsyncSession) -> None:
        stats = await LoanStatsService(session).per_province(NATIONAL, None, bangkok_today())
        statuses = {s.status: s.loans for s in stats.totals.loans_by_status}
        assert all(statuses[s] >= 1 for s in LoanStatus), statuses
        assert all(b.loans >= 1 for b in stats.totals.buckets), stats.totals.buckets
        assert stats.totals.committed_satang > 0 and stats.totals.arrears_satang > 0
        assert len(stats.rows) >= 10
        assert stats.fund_totals is not None and len(stats.funds) == 3

    _read(url, check)
