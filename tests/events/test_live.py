"""Every action-produced event, from its action through the gateway to the real
services, into the one feed the registry collects; as partners read it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection
from datetime import timedelta
from typing import Any

import httpx
import pytest
from otog_loan_ledger.clock import bangkok_today
from otog_shared.events_catalog import CATALOGUE
from otog_shared.outbox import PERSONAL_KEYS

from tests.conftest import Stack
from tests.support.tokens import TokenFactory
from tests.training.helpers import national_id

pytestmark = pytest.mark.e2e

THB = 100
BANGKOK = "100101"  # province 10
CHIANG_MAI = "500101"  # province 50

# Every type an action records (the scheduler's are tested with the scheduler).
ACTION_TYPES = {
    "group.created",
    "group.stage_changed",
    "group.member_added",
    "group.member_removed",
    "product.created",
    "product.certified",
    "visit.recorded",
    "market_link.recorded",
    "session.created",
    "session.confirmed",
    "session.cancelled",
    "session.completed",
    "enrollment.confirmed",
    "enrollment.waitlisted",
    "enrollment.promoted",
    "enrollment.cancelled",
    "enrollment.completed",
    "loan.submitted",
    "loan.approved",
    "loan.rejected",
    "loan.withdrawn",
    "loan.disbursed",
    "loan.repayment_posted",
    "loan.repayment_reversed",
    "loan.closed",
    "fund.budget_low",
}

Json = dict[str, Any]


class Actions:
    def __init__(self, gw: httpx.AsyncClient, tokens: TokenFactory) -> None:
        self.gw = gw
        self.registrar = tokens.headers("registry:read", "registry:write")
        self.commerce = tokens.headers("registry:read", "market:write")
        self.trainer = tokens.headers("training:read", "training:write")
        self.officer = tokens.headers("loans:read", "loans:write", "loans:approve")

    async def post(self, path: str, headers: dict[str, str], body: Any = None) -> Json:
        r = await self.gw.post(path, json=body, headers=headers)
        assert r.status_code in (200, 201), f"{path}: {r.status_code} {r.text}"
        result: Json = r.json()
        return result

    async def worker(self) -> str:
        body = {
            "national_id": national_id(),
            "first_name_th": "สมศรี",
            "last_name_th": "ทดสอบ",
            "subdistrict_code": BANGKOK,
            "birth_date": "1980-05-17",
        }
        return str((await self.post("/v1/workers", self.registrar, body))["id"])

    async def group(self, subdistrict: str = BANGKOK) -> str:
        body = {
            "name_th": f"กลุ่มทดสอบ {uuid.uuid4().hex[:8]}",
            "subdistrict_code": subdistrict,
            "occupation": "handicraft",
        }
        return str((await self.post("/v1/groups", self.registrar, body))["id"])


async def _feed_until(
    gw: httpx.AsyncClient,
    headers: dict[str, str],
    wanted: set[str],
    timeout: float = 30,
    types: Collection[str] = (),
) -> list[Json]:
    """Reads the whole feed, polling with its cursor, until every id in ``wanted``
    (the subjects' ids) is seen in an event's subject, and every one of ``types``.
    (Events reach the feed one commit at a time: an object's first event can be
    there before its last.)"""
    items: list[Json] = []
    cursor: str | None = None
    deadline = time.monotonic() + timeout
    while True:
        params = {"limit": 500, **({"after": cursor} if cursor else {})}
        r = await gw.get("/v1/events", headers=headers, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        subjects = " ".join(e["subject"] for e in items)
        # Only the types of events about the wanted subjects count: other tests'
        # events of the same type in the shared feed say nothing of ours.
        seen = {e["type"] for e in items if any(w in e["subject"] for w in wanted)}
        if all(w in subjects for w in wanted) and set(types) <= seen:
            return items
        if time.monotonic() > deadline:
            missing = [w for w in wanted if w not in subjects]
            missing += sorted(set(types) - seen)
            raise AssertionError(f"not in the feed after {timeout}s: {missing}")
        if not body["items"]:
            await asyncio.sleep(0.1)


def _keys_at_any_depth(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys_at_any_depth(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys_at_any_depth(v) for v in value))
    return set()


async def test_every_action_records_its_event_in_the_feed(
    live_stack: Stack, tokens: TokenFactory
) -> None:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=20) as gw:
        act = Actions(gw, tokens)
        w1, w2, w3 = [await act.worker() for _ in range(3)]

        # --- registry ----------------------------------------------------------
        group = await act.group()
        member = f"/v1/groups/{group}/members"
        await act.post(member, act.registrar, {"worker_id": w1, "role": "member"})
        r = await gw.delete(f"{member}/{w1}", headers=act.registrar)
        assert r.status_code == 204, r.text
        product = await act.post(
            f"/v1/groups/{group}/products", act.registrar, {"name_th": "พวงหรีด"}
        )
        today = bangkok_today()
        await act.post(
            f"/v1/products/{product['id']}/certifications",
            act.registrar,
            {
                "standard": "fda",
                "number": f"15-2-{uuid.uuid4().hex[:8]}",
                "issued_on": "2024-06-01",
                "expires_on": str(today + timedelta(days=365)),
            },
        )
        await act.post(
            f"/v1/groups/{group}/visits",
            act.registrar,
            {
                "visited_on": str(today),
                "officer": "นายสมชาย ตรวจดี",
                "progress": "ผลิตได้ 200 ชิ้นต่อเดือน",
                "progress_percent": 40,
            },
        )
        await act.post(
            f"/v1/groups/{group}/market-links",
            act.commerce,
            {"partner": "commerce", "channel": "trade_fair", "occurred_on": str(today)},
        )
        suspended = await act.group()
        await act.post(
            f"/v1/groups/{suspended}/stage-changes", act.registrar, {"stage": "suspended"}
        )
        elsewhere = await act.group(CHIANG_MAI)

        # --- training ----------------------------------------------------------
        course = await act.post(
            "/v1/courses",
            act.trainer,
            {
                "code": "EV" + uuid.uuid4().hex[:8].upper(),
                "title_th": "หลักสูตรทดสอบ",
                "title_en": "Test course",
                "provider": "DSD",
                "hours": 6,
                "modes": ["onsite"],
            },
        )
        starts = today + timedelta(days=30)
        session_body = {
            "course_id": course["id"],
            "province_code": "10",
            "mode": "onsite",
            "starts_on": str(starts),
            "ends_on": str(starts + timedelta(days=1)),
            "venue": "Bangkok skill development office",
            "capacity": 2,
            "minimum": 2,
        }
        taught = await act.post("/v1/training-sessions", act.trainer, session_body)
        seats = f"/v1/training-sessions/{taught['id']}/enrollments"
        e1 = await act.post(seats, act.trainer, {"worker_id": w1})
        e2 = await act.post(seats, act.trainer, {"worker_id": w2})
        e3 = await act.post(seats, act.trainer, {"worker_id": w3})
        statuses = (e1["status"], e2["status"], e3["status"])
        assert statuses == ("confirmed", "confirmed", "waitlisted")
        await act.post(f"/v1/enrollments/{e1['id']}/cancel", act.trainer, {})
        await act.post(f"/v1/training-sessions/{taught['id']}/start", act.trainer)
        await act.post(
            f"/v1/enrollments/{e2['id']}/attendance", act.trainer, {"attended_on": str(starts)}
        )
        await act.post(
            f"/v1/enrollments/{e2['id']}/complete", act.trainer, {"completed_on": str(starts)}
        )
        await act.post(f"/v1/training-sessions/{taught['id']}/complete", act.trainer)
        called_off = await act.post("/v1/training-sessions", act.trainer, session_body)
        await act.post(
            f"/v1/training-sessions/{called_off['id']}/cancel",
            act.trainer,
            {"reason": "organiser", "note": "venue closed"},
        )

        # --- loans -------------------------------------------------------------
        fund = await act.post(
            "/v1/funds",
            act.officer,
            {
                "name": f"Events test fund {uuid.uuid4().hex[:10]}",
                "budget_satang": 100_000 * THB,
                "applications_open_on": str(today - timedelta(days=30)),
                "applications_close_on": str(today + timedelta(days=30)),
                "min_principal_satang": 10_000 * THB,
                "max_principal_satang": 95_000 * THB,
                "term_months": 12,
                "installment_multiple_satang": 100,
                "revolving": False,
            },
        )

        async def apply(group_id: str, principal: int) -> str:
            body = {
                "fund_id": fund["id"],
                "group_id": group_id,
                "principal_satang": principal,
                "purpose": "Looms",
            }
            return str((await act.post("/v1/loans", act.officer, body))["id"])

        repaid = await apply(group, 91_000 * THB)
        await act.post(f"/v1/loans/{repaid}/approve", act.officer)  # 9% left: budget_low
        await act.post(f"/v1/loans/{repaid}/disburse", act.officer, {"disbursed_on": str(today)})
        repayments = f"/v1/loans/{repaid}/repayments"

        async def repay(amount: int) -> Json:
            r = await gw.post(
                repayments,
                json={"amount_satang": amount, "paid_on": str(today)},
                headers={**act.officer, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
            result: Json = r.json()
            return result

        mistaken = await repay(1_000 * THB)
        await act.post(
            f"{repayments}/{mistaken['id']}/reverse", act.officer, {"reason": "cheque bounced"}
        )
        await repay(91_000 * THB)
        rejected = await apply(await act.group(), 20_000 * THB)
        await act.post(f"/v1/loans/{rejected}/reject", act.officer)
        withdrawn = await apply(await act.group(), 20_000 * THB)
        await act.post(f"/v1/loans/{withdrawn}/withdraw", act.officer)

        admin = tokens.headers("admin")
        ids = {
            group,
            product["id"],
            suspended,
            elsewhere,
            taught["id"],
            called_off["id"],
            e1["id"],
            e2["id"],
            e3["id"],
            repaid,
            rejected,
            withdrawn,
            fund["id"],
        }
        feed = await _feed_until(gw, admin, ids, types=ACTION_TYPES)

        ours = [e for e in feed if any(i in e["subject"] for i in ids)]
        recorded = {e["type"] for e in ours}
        assert not ACTION_TYPES - recorded, ACTION_TYPES - recorded
        sources = {"registry", "training", "loan-ledger"}
        for event in ours:
            spec = CATALOGUE[event["type"]]
            assert event["source"] == f"/otog/{spec.source}" and spec.source in sources
            assert event["specversion"] == "1.0"
            assert event["datacontenttype"] == "application/json"
            # The catalogue documents exactly what is recorded, and nothing personal.
            assert set(event["data"]) == set(spec.example), event
            assert not PERSONAL_KEYS & _keys_at_any_depth(event["data"]), event
            assert event.get("provincecode") == (None if spec.national else event["provincecode"])
        provinces = {e["subject"]: e.get("provincecode") for e in ours}
        assert provinces[f"/v1/groups/{group}"] == "10"
        assert provinces[f"/v1/groups/{elsewhere}"] == "50"
        assert provinces[f"/v1/loans/{repaid}"] == "10"
        assert provinces[f"/v1/funds/{fund['id']}"] is None  # a national fund

        # Each source's events in the order their changes committed.
        loan_story = [e["type"] for e in ours if e["data"].get("loan_id") == repaid]
        assert loan_story == [
            "loan.submitted",
            "loan.approved",
            "fund.budget_low",
            "loan.disbursed",
            "loan.repayment_posted",
            "loan.repayment_reversed",
            "loan.repayment_posted",
            "loan.closed",
        ]
        seat_story = [
            (e["type"], e["data"]["enrollment_id"])
            for e in ours
            if e["type"].startswith("enrollment.")
        ]
        assert seat_story == [
            ("enrollment.confirmed", e1["id"]),
            ("enrollment.confirmed", e2["id"]),
            ("enrollment.waitlisted", e3["id"]),
            ("enrollment.cancelled", e1["id"]),
            ("enrollment.promoted", e3["id"]),
            ("enrollment.completed", e2["id"]),
        ]
        confirmed = [e for e in ours if e["type"] == "session.confirmed"]
        assert [e["data"]["session_id"] for e in confirmed] == [taught["id"]]
        cancelled = [e for e in ours if e["type"] == "session.cancelled"]
        assert [(e["data"]["session_id"], e["data"]["reason"]) for e in cancelled] == [
            (called_off["id"], "organiser")
        ]

        # A province-bound reader sees its province only.
        in_50 = await _feed_until(gw, tokens.headers("registry:read", province="50"), {elsewhere})
        assert {e.get("provincecode") for e in in_50} == {"50"}
        assert not any(group in e["subject"] for e in in_50)
        # Scopes: a training reader sees no registry or loan events.
        trainees = await _feed_until(gw, tokens.headers("training:read"), {taught["id"]})
        assert {e["type"].split(".")[0] for e in trainees} <= {"session", "enrollment"}
