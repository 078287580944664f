"""The console's endpoints through the real nginx gateway reach the service that owns
each figure (/v1/stats/training and /v1/stats/loans are not the registry's)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Stack
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e


def test_each_stats_path_reaches_its_service(live_stack: Stack, tokens: TokenFactory) -> None:
    headers = tokens.headers("registry:read", "training:read", "loans:read")
    with httpx.Client(base_url=live_stack.gateway_url, timeout=30) as gw:
        programme = gw.get("/v1/stats/programme", params={"fiscal_year": 2568}, headers=headers)
        assert programme.status_code == 200, programme.text
        assert programme.json()["targets"]["prototype_groups"] == 401

        # The registry has no such operation (404 there): a 200 is the owner's answer.
        training = gw.get("/v1/stats/training", headers=headers)
        assert training.status_code == 200, training.text
        assert {"rows", "totals", "fiscal_year"} <= set(training.json())

        loans = gw.get("/v1/stats/loans", headers=headers)
        assert loans.status_code == 200, loans.text
        assert {"rows", "totals", "funds", "fund_totals"} <= set(loans.json())

        # The registry's stats stay with the registry.
        sales = gw.get("/v1/stats/market-sales", headers=headers)
        assert sales.status_code == 200 and "sales_satang" in sales.json()

        ang_thong = gw.get("/v1/provinces/15")
        assert ang_thong.status_code == 200
        assert ang_thong.json()["latitude"] and ang_thong.json()["longitude"]

        by_province = gw.get("/v1/loans", params={"province": "15"}, headers=headers)
        assert by_province.status_code == 200, by_province.text
