"""What one repayment costs the database, and that its answer, computed from what
the request already holds, is the one a later read gives: the repayment's, and the
loan's version its own statement moved on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.loans.router import loan_etag
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.loans.conftest import THB, Flow

# Statements the application sends for one repayment that leaves the loan open
# (BEGIN and COMMIT aside): the key's lock and its stored answer, the loan's
# lock, the loan's position, the repayment's writes (the repayment, its journal
# entry, the installments, the fund's change and the loan's version), the event
# (with its notification), the stored answer.
REPAYMENT_STATEMENTS = 7


@contextmanager
def statements_of(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The tests' requests run in savepoints of one outer transaction.
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def test_one_repayment_runs_few_statements(flow: Flow, loans_app: FastAPI) -> None:
    loan = await flow.active()
    assert (await flow.repay(loan, 20_000 * THB, "2025-02-10")).status_code == 201
    with statements_of(loans_app) as seen:
        r = await flow.repay(loan, 5_000 * THB, "2025-02-15")
    assert r.status_code == 201, r.text
    assert len(seen) <= REPAYMENT_STATEMENTS, "\n".join(seen)


async def test_a_loan_left_open_moves_on_one_version(flow: Flow, db: AsyncSession) -> None:
    """The loan's version and ``updated_at``, moved on inside the repayment's own
    statement, are what the request's loan holds as its committed state (what a
    later flush of it is guarded by, and what its ETag is made of) and what a
    later read shows."""
    loan = await flow.active()
    loan_id = uuid.UUID(loan["id"])
    # The tests' requests share this session: holding the loan here keeps it in the
    # identity map, so the request locks and moves on this very object.
    held = await db.get(Loan, loan_id)
    assert held is not None
    stored = text("SELECT version, updated_at FROM loans WHERE id = :id")
    before = (await db.execute(stored, {"id": loan_id})).one()

    r = await flow.repay(loan, 5_000 * THB, "2025-02-15")
    assert r.status_code == 201 and r.json()["loan_status"] == "active", r.text
    after = (await db.execute(stored, {"id": loan_id})).one()
    assert after.version == before.version + 1 and after.updated_at > before.updated_at
    assert (held.version, held.updated_at) == (after.version, after.updated_at)
    assert not db.is_modified(held)
    held_etag = loan_etag(held)

    read = await flow.client.get(f"/v1/loans/{loan_id}", headers=flow.auth.reader())
    assert read.status_code == 200 and read.headers["etag"] == held_etag


async def test_the_answer_is_what_a_read_gives(flow: Flow) -> None:
    loan = await flow.active()
    # Later, earlier (allocated before the ones already paid) and closing payments.
    for amount, paid_on in (
        (20_000 * THB, "2025-03-10"),
        (15_000 * THB, "2025-02-01"),
        (12_500 * THB, "2025-03-10"),
        (252_500 * THB, "2025-02-20"),
    ):
        posted = await flow.repay(loan, amount, paid_on)
        assert posted.status_code == 201, posted.text
        read = await flow.client.get(posted.headers["location"], headers=flow.auth.officer())
        assert read.status_code == 200
        assert posted.json() == read.json()
    closed = await flow.get(loan)
    assert closed["status"] == "closed" and closed["closed_on"] == "2025-03-10"
