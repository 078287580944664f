"""A province-15 officer signed in through an app sees nothing of province 62 in
any of the three services, and sees province 15 (so the test can tell)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.loans.conftest import THB, fund_body
from tests.signin.conftest import SignInStack, create_app, create_user
from tests.signin.test_flow import sign_in_with_authlib
from tests.training.helpers import create_course, session_body

pytestmark = pytest.mark.e2e

ANG_THONG = "150101"  # province 15
KAMPHAENG_PHET = "620101"  # province 62
READ_ALL = ["registry:read", "training:read", "loans:read"]


async def place_data(
    gw: httpx.AsyncClient, admin: dict[str, str], subdistrict: str
) -> dict[str, Any]:
    """A group, a training session and a loan in the subdistrict's province."""
    group = await gw.post(
        "/v1/groups",
        json={
            "name_th": f"กลุ่มจักสาน {uuid.uuid4().hex[:6]}",
            "subdistrict_code": subdistrict,
            "occupation": "handicraft",
        },
        headers=admin,
    )
    assert group.status_code == 201, group.text
    course = await create_course(gw, admin)
    session = await gw.post(
        "/v1/training-sessions",
        json=session_body(str(course["id"]), province_code=subdistrict[:2]),
        headers=admin,
    )
    assert session.status_code == 201, session.text
    fund = await gw.post("/v1/funds", json=fund_body(), headers=admin)
    assert fund.status_code == 201, fund.text
    loan = await gw.post(
        "/v1/loans",
        json={
            "fund_id": fund.json()["id"],
            "group_id": group.json()["id"],
            "principal_satang": 100_000 * THB,
            "purpose": "Weaving looms",
        },
        headers=admin,
    )
    assert loan.status_code == 201, loan.text
    return {
        "group": group.json()["id"],
        "session": session.json()["id"],
        "loan": loan.json()["id"],
        "fund": fund.json()["id"],
    }


async def test_province_15_officer_sees_nothing_of_province_62(
    signin_stack: SignInStack, gw: httpx.AsyncClient
) -> None:
    admin = signin_stack.admin
    theirs = await place_data(gw, admin, KAMPHAENG_PHET)
    ours = await place_data(gw, admin, ANG_THONG)
    app = await create_app(gw, admin, READ_ALL)
    user = await create_user(gw, admin, READ_ALL, province="15")
    oauth, token = await sign_in_with_authlib(
        signin_stack, app, user["username"], " ".join(READ_ALL)
    )
    await oauth.aclose()
    assert set(token["scope"].split()) == set(READ_ALL)
    officer = {"Authorization": f"Bearer {token['access_token']}"}

    async def ids(path: str, **params: str) -> set[str]:
        r = await gw.get(path, params={"limit": "200", **params}, headers=officer)
        assert r.status_code == 200, r.text
        return {item["id"] for item in r.json()["items"]}

    # Registry
    assert (await gw.get(f"/v1/groups/{theirs['group']}", headers=officer)).status_code == 404
    assert (await gw.get(f"/v1/groups/{ours['group']}", headers=officer)).status_code == 200
    assert await ids("/v1/groups", province="62") == set()
    assert ours["group"] in await ids("/v1/groups", subdistrict=ANG_THONG)
    assert theirs["group"] not in await ids("/v1/groups", subdistrict=KAMPHAENG_PHET)
    # Training
    assert (
        await gw.get(f"/v1/training-sessions/{theirs['session']}", headers=officer)
    ).status_code == 404
    assert (
        await gw.get(f"/v1/training-sessions/{ours['session']}", headers=officer)
    ).status_code == 200
    # Loan ledger
    assert (await gw.get(f"/v1/loans/{theirs['loan']}", headers=officer)).status_code == 404
    assert (await gw.get(f"/v1/loans/{ours['loan']}", headers=officer)).status_code == 200
    assert theirs["loan"] not in await ids("/v1/loans", fund_id=theirs["fund"])
    assert ours["loan"] in await ids("/v1/loans", fund_id=ours["fund"])
    # Nor can the officer write in province 62 (nor anywhere: no write scope).
    r = await gw.post(
        "/v1/groups",
        json={"name_th": "x", "subdistrict_code": KAMPHAENG_PHET, "occupation": "handicraft"},
        headers=officer,
    )
    assert r.status_code == 403


async def test_writes_are_audited_with_the_user_and_the_app(
    signin_stack: SignInStack, gw: httpx.AsyncClient
) -> None:
    admin = signin_stack.admin
    app = await create_app(gw, admin, ["registry:read", "registry:write"])
    user = await create_user(gw, admin, ["registry:read", "registry:write"], province="15")
    oauth, token = await sign_in_with_authlib(
        signin_stack, app, user["username"], "registry:read registry:write"
    )
    await oauth.aclose()
    officer = {"Authorization": f"Bearer {token['access_token']}"}
    r = await gw.post(
        "/v1/groups",
        json={
            "name_th": "กลุ่มทอผ้าบ้านแพรก",
            "subdistrict_code": ANG_THONG,
            "occupation": "handicraft",
        },
        headers=officer,
    )
    assert r.status_code == 201, r.text
    assert (
        await gw.post(
            "/v1/groups",
            json={"name_th": "x", "subdistrict_code": KAMPHAENG_PHET, "occupation": "handicraft"},
            headers=officer,
        )
    ).status_code == 403
    events = (
        await gw.get(
            "/v1/audit-events",
            params={"entity_type": "group", "entity_id": r.json()["id"]},
            headers=admin,
        )
    ).json()["items"]
    assert events and events[0]["actor"] == app
    assert events[0]["actor_person"] == f"user:{user['id']}"
