"""What one repayment costs the database, and that its answer, computed from what
the request already holds, is the one a later read gives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from tests.loans.conftest import THB, Flow

# Statements the application sends for one repayment (BEGIN and COMMIT aside):
# the key's lock and its stored answer, the loan's lock, the loan's position,
# the repayment's writes (the repayment, its journal entry, the installments
# and the fund's change), the event (with its notification), the loan's
# version, the stored answer.
REPAYMENT_STATEMENTS = 8


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
