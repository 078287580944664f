"""The loan ledger's jobs: ``loan.overdue`` at 1, 31, 61 and 91 days past due (once per
threshold and arrears episode), expiry of idempotency keys, the outbox's retention.
Runs in the test's rolled-back transaction; "now" is given by the test."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from otog_loan_ledger.clock import BANGKOK
from otog_loan_ledger.jobs import JOBS, expire_idempotency_keys, notify_overdue
from otog_shared.outbox import record_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import (  # noqa: F401  (fixtures)
    THB,
    Flow,
    auth,
    db,
    flow,
    groups,
    loans,
    loans_app,
    loans_session,
)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=BANGKOK)


async def overdue_events(session: AsyncSession, loan_id: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT subject, province_code, data FROM outbox "
            "WHERE type = 'loan.overdue' AND data->>'loan_id' = :loan_id "
            "ORDER BY (data->>'due_since'), (data->>'threshold')::int"
        ),
        {"loan_id": loan_id},
    )
    return [dict(r._mapping) for r in rows]


async def test_overdue_at_each_threshold_once_per_episode(
    flow: Flow,  # noqa: F811
    db: AsyncSession,  # noqa: F811
) -> None:
    loan = await flow.active(disbursed_on="2025-01-15")
    schedule = (await flow.get(loan, "/schedule"))["installments"]
    first, second = (date.fromisoformat(i["due_on"]) for i in schedule[:2])

    # Due today is not overdue; the day after is day 1.
    assert await notify_overdue(db, noon(first)) == []
    sent = await notify_overdue(db, noon(first + timedelta(days=1)))
    assert [(s.threshold, s.days_past_due) for s in sent if str(s.loan_id) == loan["id"]] == [
        (1, 1)
    ]
    # The same day again (another process, a rerun), and days 2..30: nothing new.
    assert await notify_overdue(db, noon(first + timedelta(days=1))) == []
    assert await notify_overdue(db, noon(first + timedelta(days=30))) == []
    assert len(await notify_overdue(db, noon(first + timedelta(days=31)))) == 1

    # The sweep missed days 61..99: it tells where the loan stands (91), once.
    late = first + timedelta(days=100)
    sent = await notify_overdue(db, noon(late))
    assert [(s.threshold, s.days_past_due) for s in sent] == [(91, 100)]
    assert await notify_overdue(db, noon(late)) == []

    events = await overdue_events(db, loan["id"])
    assert [e["data"]["threshold"] for e in events] == [1, 31, 91]
    assert all(e["subject"] == f"/v1/loans/{loan['id']}" for e in events)
    assert all(e["province_code"] == "10" for e in events)
    last = events[-1]["data"]
    assert last["group_id"] == loan["group_id"]
    assert last["days_past_due"] == 100
    assert last["due_since"] == first.isoformat()
    # By then every installment due before that day is unpaid.
    due_before = sum(
        i["principal_satang"] for i in schedule if date.fromisoformat(i["due_on"]) < late
    )
    assert last["arrears_satang"] == due_before

    # The first installment is paid: days past due now count from the second one's
    # due date, a new episode, told again from where it stands.
    paid = await flow.repay(loan, schedule[0]["principal_satang"], late.isoformat())
    assert paid.status_code == 201, paid.text
    sent = await notify_overdue(db, noon(late))
    assert [(s.threshold, s.days_past_due) for s in sent] == [(61, (late - second).days)]
    events = await overdue_events(db, loan["id"])
    assert events[-1]["data"]["due_since"] == second.isoformat()
    assert await notify_overdue(db, noon(late)) == []


async def test_a_loan_repaid_on_time_is_never_overdue(
    flow: Flow,  # noqa: F811
    db: AsyncSession,  # noqa: F811
) -> None:
    loan = await flow.active(disbursed_on="2025-01-15")
    schedule = (await flow.get(loan, "/schedule"))["installments"]
    first = date.fromisoformat(schedule[0]["due_on"])
    paid = await flow.repay(loan, schedule[0]["principal_satang"], first.isoformat())
    assert paid.status_code == 201, paid.text
    assert await notify_overdue(db, noon(first + timedelta(days=5))) == []
    assert await overdue_events(db, loan["id"]) == []


async def test_idempotency_keys_expire_after_the_retention(
    flow: Flow,  # noqa: F811
    db: AsyncSession,  # noqa: F811
) -> None:
    loan = await flow.active(disbursed_on="2025-01-15")
    key = uuid.uuid4().hex
    assert (await flow.repay(loan, 10_000 * THB, "2025-02-01", key=key)).status_code == 201

    async def kept() -> bool:
        found = await db.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE key = :key"), {"key": key}
        )
        return bool(found)

    now = datetime.now(UTC)
    await expire_idempotency_keys(db, now + timedelta(days=29))
    assert await kept()
    await expire_idempotency_keys(db, now + timedelta(days=31))
    assert not await kept()
    # Forgotten: the same key is a new request now (a second repayment).
    again = await flow.repay(loan, 10_000 * THB, "2025-02-01", key=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") is None


async def test_outbox_rows_older_than_thirty_days_are_purged(
    db: AsyncSession,  # noqa: F811
) -> None:
    purge = next(job for job in JOBS if job.name == "outbox-purge")
    old, recent = uuid.uuid4(), uuid.uuid4()
    for event_id in (old, recent):
        await record_event(
            db, "loan.closed", subject=f"/v1/loans/{event_id}", data={}, event_id=event_id
        )
    await db.execute(
        text("UPDATE outbox SET occurred_at = now() - interval '31 days' WHERE id = :id"),
        {"id": old},
    )
    assert await purge.body(db, datetime.now(UTC)) == 1
    left = await db.scalars(
        text("SELECT id FROM outbox WHERE id IN (:a, :b)"), {"a": old, "b": recent}
    )
    assert list(left) == [recent]
    assert await purge.body(db, datetime.now(UTC)) == 0
