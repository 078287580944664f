"""A loan's whole life through the real nginx gateway to the real services."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import Stack
from tests.loans.conftest import BANGKOK, THB, Auth, fund_body

pytestmark = pytest.mark.e2e


async def test_loan_lifecycle_through_the_gateway(live_stack: Stack, auth: Auth) -> None:
    officer = auth.officer()
    registrar = auth.tokens.headers("registry:read", "registry:write")
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=20) as gw:
        r = await gw.post("/v1/funds", json=fund_body(), headers=officer)
        assert r.status_code == 201, r.text
        fund = r.json()
        group = (
            await gw.post(
                "/v1/groups",
                json={
                    "name_th": "กลุ่มแปรรูปข้าวบ้านนาเดิม",
                    "subdistrict_code": BANGKOK,
                    "occupation": "food_processing",
                },
                headers=registrar,
            )
        ).json()
        r = await gw.post(
            "/v1/loans",
            json={
                "fund_id": fund["id"],
                "group_id": group["id"],
                "principal_satang": 150_000 * THB,
                "purpose": "Rice mill",
            },
            headers={**officer, "X-Request-ID": "loan-apply-1"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["x-request-id"] == "loan-apply-1"
        loan = r.json()
        assert (
            await gw.post(f"/v1/loans/{loan['id']}/approve", headers=officer)
        ).status_code == 200
        r = await gw.post(
            f"/v1/loans/{loan['id']}/disburse", json={"disbursed_on": "2025-01-31"}, headers=officer
        )
        assert r.status_code == 200 and r.json()["status"] == "active"
        schedule = (await gw.get(f"/v1/loans/{loan['id']}/schedule", headers=officer)).json()
        assert len(schedule["installments"]) == 24
        assert schedule["installments"][0]["due_on"] == "2025-02-28"
        assert sum(i["principal_satang"] for i in schedule["installments"]) == 150_000 * THB

        key = {"Idempotency-Key": str(uuid.uuid4())}
        body = {"amount_satang": 6_250 * THB, "paid_on": "2025-02-20"}
        first = await gw.post(
            f"/v1/loans/{loan['id']}/repayments", json=body, headers={**officer, **key}
        )
        again = await gw.post(
            f"/v1/loans/{loan['id']}/repayments", json=body, headers={**officer, **key}
        )
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        missing_key = await gw.post(
            f"/v1/loans/{loan['id']}/repayments", json=body, headers=officer
        )
        assert missing_key.status_code == 400
        assert missing_key.headers["content-type"].startswith("application/problem+json")

        tb = (await gw.get(f"/v1/funds/{fund['id']}/trial-balance", headers=officer)).json()
        assert tb["balanced"] and tb["reconciled"]
        figures = (await gw.get(f"/v1/funds/{fund['id']}", headers=officer)).json()
        assert figures["disbursed_satang"] == 150_000 * THB
        assert figures["repaid_satang"] == 6_250 * THB
        assert figures["available_satang"] == 4_850_000 * THB
