"""Money: two funds (one revolving) whose budgets make approvals race for the last
baht, and random applications, approvals, releases, disbursements, repayments (some
re-sent under their key), reversals and top-ups; then the invariants that must hold
after every round whatever the interleaving.

As for seats, the plan is drawn with a fixed number of draws per operation; the
loan or repayment an operation hits is resolved from the state read at the end of
the previous round."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import asyncpg

from tests.concurrency.support import Answer, Api, Failures
from tests.loans.conftest import THB, fund_body, today_bkk

GROUPS = 16
# Budgets a few loans of 50,000–300,000 THB fill: approvals race for what is left.
BUDGETS = ((1_000_000 * THB, False), (700_000 * THB, True))
APPLIES, APPROVALS, RELEASES, DISBURSEMENTS = 6, 8, 3, 4
REPAYMENTS, REVERSALS = 12, 3
OPEN = ("submitted", "approved", "active")
AFTER = {
    "approve": "approved",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "undo-approval": "submitted",
    "disburse": "active",
}
BEFORE = {
    "approve": ("submitted",),
    "reject": ("submitted",),
    "withdraw": ("submitted", "approved"),
    "undo-approval": ("approved",),
    "disburse": ("approved",),
}


@dataclass
class Fund:
    id: str
    revolving: bool
    budget: int
    # Journal entries seen so far, by id: entries are never edited nor deleted.
    seen: dict[str, Any] = field(default_factory=dict)


@dataclass
class Loan:
    id: str
    fund: int
    group: int
    principal: int
    status: str = "submitted"
    disbursed_on: date | None = None


@dataclass
class Repaid:
    id: str
    loan: str
    amount: int
    key: str
    reversed: bool = False


@dataclass(frozen=True)
class Apply:
    fund: int
    group: int
    principal: int
    who: int


@dataclass(frozen=True)
class Decide:
    fund: int
    pick: float
    action: str
    twin: bool
    days_ago: int
    who: int


@dataclass(frozen=True)
class Repay:
    fund: int
    pick: float
    kind: str  # installment, part, rest, or over (always more than is owed)
    share: float
    days_ago: int
    resend: bool
    who: int


@dataclass(frozen=True)
class Reverse:
    fund: int
    pick: float
    twin: bool
    who: int


@dataclass(frozen=True)
class TopUp:
    fund: int
    amount: int
    resend: bool
    who: int


@dataclass
class MoneyPlan:
    applies: list[Apply]
    decisions: list[Decide]
    repayments: list[Repay]
    reversals: list[Reverse]
    top_ups: list[TopUp]


def draw_plan(rng: random.Random) -> MoneyPlan:
    funds = len(BUDGETS)

    def decide(action: str | None) -> Decide:
        f, pick, twin, days, who = (
            rng.randrange(funds),
            rng.random(),
            rng.random() < 0.2,
            rng.randint(30, 90),
            rng.randrange(2),
        )
        chosen = action or rng.choice(["reject", "withdraw", "undo-approval"])
        return Decide(f, pick, chosen, twin and chosen == "approve", days, who)

    applies = [
        Apply(
            rng.randrange(funds),
            rng.randrange(GROUPS),
            rng.randint(50, 300) * 1000 * THB,
            rng.randrange(2),
        )
        for _ in range(APPLIES)
    ]
    decisions = [decide("approve") for _ in range(APPROVALS)]
    decisions += [decide(None) for _ in range(RELEASES)]
    decisions += [decide("disburse") for _ in range(DISBURSEMENTS)]
    repayments = [
        Repay(
            rng.randrange(funds),
            rng.random(),
            rng.choices(["installment", "part", "rest", "over"], [40, 25, 20, 15])[0],
            rng.random(),
            rng.randint(0, 25),
            rng.random() < 0.2,
            rng.randrange(2),
        )
        for _ in range(REPAYMENTS)
    ]
    reversals = [
        Reverse(rng.randrange(funds), rng.random(), rng.random() < 0.25, rng.randrange(2))
        for _ in range(REVERSALS)
    ]
    top_ups = []
    for f in range(funds):
        happens, amount, resend, who = (
            rng.random() < 0.3,
            rng.randint(50, 200) * 1000 * THB,
            rng.random() < 0.5,
            rng.randrange(2),
        )
        if happens:
            top_ups.append(TopUp(f, amount, resend, who))
    return MoneyPlan(applies, decisions, repayments, reversals, top_ups)


class Money:
    def __init__(self, api: Api, failures: Failures, ledger_db: asyncpg.Connection) -> None:
        self.api = api
        self.failures = failures
        self.db = ledger_db
        self.funds: list[Fund] = []
        self.groups: list[str] = []
        self.loans: dict[str, Loan] = {}
        self.repaid: dict[str, Repaid] = {}
        self.today = today_bkk()
        self._round: dict[str, Any] = {}

    # --- setup ---------------------------------------------------------------

    async def setup(self) -> None:
        for budget, revolving in BUDGETS:
            r = await self.api.post(
                "/v1/funds", fund_body(budget_satang=budget, revolving=revolving)
            )
            assert r.status == 201, r.short()
            self.funds.append(Fund(r.body["id"], revolving, budget))

        async def group() -> str:
            r = await self.api.post(
                "/v1/groups",
                {
                    "name_th": f"กลุ่มทอผ้า {uuid.uuid4().hex[:8]}",
                    "subdistrict_code": "100101",
                    "occupation": "textiles_weaving",
                },
            )
            assert r.status == 201, r.short()
            return str(r.body["id"])

        self.groups = list(await asyncio.gather(*(group() for _ in range(GROUPS))))

    # --- a round -------------------------------------------------------------

    def outstanding(self, loan: Loan) -> int:
        return loan.principal - sum(
            r.amount for r in self.repaid.values() if r.loan == loan.id and not r.reversed
        )

    def operations(self, plan: MoneyPlan) -> list[Awaitable[None]]:
        applied: list[tuple[Apply, Answer]] = []
        decided: list[tuple[Decide, Loan, Answer]] = []
        repayments: list[tuple[Repay, Loan, int, str, Answer]] = []
        reversals: list[tuple[Repaid, Answer]] = []
        top_ups: list[tuple[TopUp, Answer]] = []
        self._round = {
            "applied": applied,
            "decided": decided,
            "repayments": repayments,
            "reversals": reversals,
            "top_ups": top_ups,
            "owed": {i: self.outstanding(loan) for i, loan in self.loans.items()},
            "status": {i: loan.status for i, loan in self.loans.items()},
        }
        ops: list[Awaitable[None]] = []

        async def apply(op: Apply) -> None:
            body = {
                "fund_id": self.funds[op.fund].id,
                "group_id": self.groups[op.group],
                "principal_satang": op.principal,
                "purpose": "Looms and yarn",
            }
            applied.append((op, await self.api.post("/v1/loans", body, who=op.who)))

        async def decide(op: Decide, loan: Loan, who: int) -> None:
            body = None
            if op.action == "disburse":
                body = {"disbursed_on": (self.today - timedelta(days=op.days_ago)).isoformat()}
            answer = await self.api.post(f"/v1/loans/{loan.id}/{op.action}", body, who=who)
            decided.append((op, loan, answer))

        async def repay(op: Repay, loan: Loan, amount: int, key: str) -> None:
            body = {
                "amount_satang": amount,
                "paid_on": (self.today - timedelta(days=op.days_ago)).isoformat(),
                "reference": key,
            }
            answer = await self.api.post(
                f"/v1/loans/{loan.id}/repayments", body, who=op.who, key=key
            )
            repayments.append((op, loan, amount, key, answer))

        async def reverse(repaid: Repaid, who: int) -> None:
            answer = await self.api.post(
                f"/v1/loans/{repaid.loan}/repayments/{repaid.id}/reverse",
                {"reason": "Transfer bounced"},
                who=who,
            )
            reversals.append((repaid, answer))

        async def top_up(op: TopUp, key: str) -> None:
            answer = await self.api.post(
                f"/v1/funds/{self.funds[op.fund].id}/top-ups",
                {"amount_satang": op.amount, "reason": "Supplementary budget"},
                who=op.who,
                key=key,
            )
            top_ups.append((op, answer))

        ops += [apply(op) for op in plan.applies]
        taken: set[str] = set()
        for d in plan.decisions:
            candidates = [
                loan
                for loan in self.loans.values()
                if loan.fund == d.fund and loan.status in BEFORE[d.action] and loan.id not in taken
            ]
            if not candidates:
                continue
            loan = candidates[int(d.pick * len(candidates))]
            taken.add(loan.id)
            ops.append(decide(d, loan, d.who))
            if d.twin:
                ops.append(decide(d, loan, 1 - d.who))
        for p in plan.repayments:
            active = [
                loan
                for loan in self.loans.values()
                if loan.fund == p.fund and loan.status == "active"
            ]
            if not active:
                continue
            loan = active[int(p.pick * len(active))]
            owed = self._round["owed"][loan.id]
            amount = {
                "installment": min(owed, loan.principal // 24 // 100 * 100),
                "part": max(1, int(owed * p.share)),
                "rest": owed,
                "over": loan.principal + 100,
            }[p.kind]
            key = str(uuid.uuid4())
            ops.append(repay(p, loan, amount, key))
            if p.resend:
                ops.append(repay(p, loan, amount, key))
        for v in plan.reversals:
            posted = [
                r
                for r in self.repaid.values()
                if self.loans[r.loan].fund == v.fund and not r.reversed
            ]
            if not posted:
                continue
            target = posted[int(v.pick * len(posted))]
            ops.append(reverse(target, v.who))
            if v.twin:
                ops.append(reverse(target, 1 - v.who))
        for t in plan.top_ups:
            key = str(uuid.uuid4())
            ops.append(top_up(t, key))
            if t.resend:
                ops.append(top_up(t, key))
        return ops

    def judge(self) -> dict[str, int]:
        """Each answer against what this round could legally have answered; the
        model then takes the outcome."""
        tally: Counter[str] = Counter()
        self._judge_decisions(tally)
        self._judge_reversals(tally)
        self._judge_repayments(tally)
        for loan in self.loans.values():
            if loan.status in ("active", "closed"):
                loan.status = "closed" if self.outstanding(loan) == 0 else "active"
        self._judge_applications(tally)
        self._judge_top_ups(tally)
        return dict(tally)

    def _judge_decisions(self, tally: Counter[str]) -> None:
        check = self.failures.check
        by_loan: dict[str, list[tuple[Decide, Answer]]] = defaultdict(list)
        for op, loan, a in self._round["decided"]:
            by_loan[loan.id].append((op, a))
            tally[f"{op.action} {a.status}"] += 1
        for loan_id, answers in by_loan.items():
            loan = self.loans[loan_id]
            action = answers[0][0].action
            name = f"{action} of loan {loan_id} ({loan.status}, {loan.principal} satang)"
            done = [a for _, a in answers if a.ok]
            check(len(done) <= 1, f"{name}: {len(done)} successes")
            for _, a in answers:
                if a.ok:
                    check(
                        a.status == 200 and a.body["status"] == AFTER[action],
                        f"{name}: {a.short()}",
                    )
                elif action == "approve" and a.slug == "budget-exceeded":
                    check(
                        a.body.get("available_satang", -1) < loan.principal,
                        f"{name}: refused although the fund could cover it: {a.short()}",
                    )
                else:
                    check(
                        action == "approve" and a.slug == "invalid-loan-transition" and bool(done),
                        f"{name}: unexpected {a.short()}",
                    )
            if done:
                loan.status = AFTER[action]
                if action == "disburse":
                    loan.disbursed_on = date.fromisoformat(done[0].body["disbursed_on"])

    def _judge_reversals(self, tally: Counter[str]) -> None:
        check = self.failures.check
        by_repayment: dict[str, list[Answer]] = defaultdict(list)
        for repaid, a in self._round["reversals"]:
            by_repayment[repaid.id].append(a)
            tally[f"reverse {a.status}"] += 1
        for repayment_id, answers in by_repayment.items():
            repaid = self.repaid[repayment_id]
            fund = self.funds[self.loans[repaid.loan].fund]
            name = f"reversal of repayment {repayment_id} ({repaid.amount} satang)"
            done = [a for a in answers if a.ok]
            budget = [a for a in answers if a.slug == "budget-exceeded"]
            check(
                len(done) == 1 or (fund.revolving and bool(budget) and not done),
                f"{name}: " + " | ".join(a.short() for a in answers),
            )
            for a in answers:
                check(
                    (a.ok and a.body["status"] == "reversed")
                    or (a.slug == "repayment-already-reversed" and bool(done))
                    or (a.slug == "budget-exceeded" and fund.revolving),
                    f"{name}: unexpected {a.short()}",
                )
            if done:
                repaid.reversed = True

    def _judge_repayments(self, tally: Counter[str]) -> None:
        check = self.failures.check
        owed: dict[str, int] = self._round["owed"]
        by_key: dict[str, list[tuple[Repay, Loan, int, Answer]]] = defaultdict(list)
        for op, loan, amount, key, a in self._round["repayments"]:
            by_key[key].append((op, loan, amount, a))
            tally[f"repay {a.status}"] += 1
        asked: dict[str, int] = defaultdict(int)
        for tries in by_key.values():
            op, loan, amount, _ = tries[0]
            if op.kind != "over":
                asked[loan.id] += amount
        for key, tries in by_key.items():
            op, loan, amount, _ = tries[0]
            name = f"repayment {key} of {amount} satang on loan {loan.id}"
            created = {a.body["id"] for *_, a in tries if a.ok}
            check(len(created) <= 1, f"{name}: {len(created)} repayments for one key")
            for *_, a in tries:
                if a.ok:
                    check(
                        a.status == 201 and a.body["amount_satang"] == amount,
                        f"{name}: {a.short()}",
                    )
                    continue
                check(
                    a.slug in ("overpayment", "loan-not-active"),
                    f"{name}: unexpected {a.short()}",
                )
                # Refused only when this round asked for more than was owed.
                check(
                    op.kind == "over" or asked[loan.id] > owed[loan.id],
                    f"{name}: refused though the round asked {asked[loan.id]} of "
                    f"{owed[loan.id]} owed: {a.short()}",
                )
            for repayment_id in created:
                self.repaid[repayment_id] = Repaid(repayment_id, loan.id, amount, key)

    def _judge_applications(self, tally: Counter[str]) -> None:
        check = self.failures.check
        by_pair: dict[tuple[int, int], list[tuple[Apply, Answer]]] = defaultdict(list)
        for op, a in self._round["applied"]:
            by_pair[op.fund, op.group].append((op, a))
            tally[f"apply {a.status}"] += 1
        started: dict[str, str] = self._round["status"]
        # A loan repaid this round as much as it owed at the start, and with a repayment
        # reversed, may have closed and reopened (or reopened and closed) in the round:
        # open or not when an application came.
        repaid_now: Counter[str] = Counter()
        for loan_id, amount in {
            key: (loan.id, amount) for _, loan, amount, key, a in self._round["repayments"] if a.ok
        }.values():
            repaid_now[loan_id] += amount
        owed_at_start: dict[str, int] = self._round["owed"]
        wavered = {
            r.loan
            for r, a in self._round["reversals"]
            if a.ok and repaid_now[r.loan] >= owed_at_start.get(r.loan, 0)
        }
        for (f, g), answers in by_pair.items():
            theirs = [x for x in self.loans.values() if (x.fund, x.group) == (f, g)]
            open_at_start = [x.id for x in theirs if started.get(x.id) in OPEN]
            still_open = [
                i for i in open_at_start if self.loans[i].status in OPEN and i not in wavered
            ]
            # A reversal may reopen a closed loan before or after the application.
            reopened = [x.id for x in theirs if started.get(x.id) == "closed" != x.status]
            maybe = [x.id for x in theirs if x.id in wavered]
            accepted = sum(a.ok for _, a in answers)
            if still_open:
                ok = accepted == 0
            elif open_at_start or reopened or maybe:
                ok = accepted <= 1
            else:
                ok = accepted == 1
            check(
                ok,
                f"applications of group {g} to fund {f} (open at the start: {open_at_start}, "
                f"still open: {still_open}, reopened: {reopened}, repaid and reversed: "
                f"{maybe}): " + " | ".join(a.short() for _, a in answers),
            )
            for op, a in answers:
                if a.ok:
                    check(
                        a.status == 201
                        and a.body["status"] == "submitted"
                        and a.body["principal_satang"] == op.principal,
                        f"application of group {g} to fund {f}: {a.short()}",
                    )
                    self.loans[a.body["id"]] = Loan(a.body["id"], f, g, op.principal)
                else:
                    check(
                        a.status == 409 and a.slug == "open-loan-exists",
                        f"application of group {g} to fund {f}: unexpected {a.short()}",
                    )

    def _judge_top_ups(self, tally: Counter[str]) -> None:
        topped: dict[str, TopUp] = {}
        for op, a in self._round["top_ups"]:
            tally[f"top-up {a.status}"] += 1
            if self.failures.check(a.status == 201, f"top-up {op}: {a.short()}"):
                topped[a.body["id"]] = op
        for op in topped.values():
            self.funds[op.fund].budget += op.amount

    # --- invariants ----------------------------------------------------------

    async def check(self) -> None:
        check = self.failures.check
        fund_ids = [uuid.UUID(f.id) for f in self.funds]
        loans = {
            r["id"]: r
            for r in await self.db.fetch(
                "SELECT id::text, fund_id::text, status, principal_satang FROM loans"
                " WHERE fund_id = ANY($1::uuid[])",
                fund_ids,
            )
        }
        check(
            set(loans) == set(self.loans),
            f"loans stored and loans the clients were given (201) differ: "
            f"{sorted(set(loans) ^ set(self.loans))[:5]}",
        )
        for i, loan in self.loans.items():
            row = loans.get(i)
            check(
                row is not None
                and (row["status"], row["principal_satang"]) == (loan.status, loan.principal),
                f"loan {i}: stored {dict(row) if row else None}, expected {loan.status} "
                f"{loan.principal} from the answers",
            )
        repayments = await self.db.fetch(
            "SELECT r.id::text, r.loan_id::text, r.amount_satang, r.reference,"
            " v.repayment_id IS NOT NULL AS reversed"
            " FROM repayments r JOIN loans l ON l.id = r.loan_id"
            " LEFT JOIN repayment_reversals v ON v.repayment_id = r.id"
            " WHERE l.fund_id = ANY($1::uuid[])",
            fund_ids,
        )
        stored = {r["id"]: r for r in repayments}
        twice = [k for k, n in Counter(r["reference"] for r in repayments).items() if n > 1]
        check(not twice, f"repayments stored twice (same key): {twice[:5]}")
        check(
            set(stored) == set(self.repaid),
            f"repayments stored and repayments answered 201 differ: "
            f"{sorted(set(stored) ^ set(self.repaid))[:5]}",
        )
        for i, mine in self.repaid.items():
            row = stored.get(i)
            check(
                row is not None
                and (row["amount_satang"], row["reference"], row["reversed"])
                == (mine.amount, mine.key, mine.reversed),
                f"repayment {i}: stored {dict(row) if row else None}, expected {mine}",
            )

        await asyncio.gather(*(self._check_fund(index) for index in range(len(self.funds))))
        await self._check_loans()
        await self._check_events(fund_ids)

    async def _check_fund(self, index: int) -> None:
        check = self.failures.check
        fund = self.funds[index]
        name = f"fund {index} ({'revolving' if fund.revolving else 'one-time'}, {fund.id})"
        got = await self.api.get(f"/v1/funds/{fund.id}")
        if not check(got.status == 200, f"GET {name}: {got.short()}"):
            return
        api = got.body
        mine = [loan for loan in self.loans.values() if loan.fund == index]
        rows = {
            "budget_satang": fund.budget,
            "committed_satang": sum(x.principal for x in mine if x.status == "approved"),
            "disbursed_satang": sum(x.principal for x in mine if x.status in ("active", "closed")),
            "repaid_satang": sum(
                r.amount
                for r in self.repaid.values()
                if self.loans[r.loan].fund == index and not r.reversed
            ),
        }
        recycled = rows["repaid_satang"] if fund.revolving else 0
        rows["available_satang"] = (
            rows["budget_satang"] - rows["committed_satang"] - rows["disbursed_satang"] + recycled
        )
        shown = {k: api[k] for k in rows}
        check(shown == rows, f"{name}: figures {shown}, recomputed from the rows {rows}")
        check(api["available_satang"] >= 0, f"{name}: over budget, {shown}")

        entries = await self.api.get_all(f"/v1/funds/{fund.id}/ledger")
        balance: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()
        for e in entries:
            debits = sum(line["debit_satang"] for line in e["lines"])
            credits = sum(line["credit_satang"] for line in e["lines"])
            check(debits == credits, f"{name}: entry {e['id']} is not balanced: {e}")
            for line in e["lines"]:
                balance[line["account"]] += line["debit_satang"] - line["credit_satang"]
            by_kind[e["kind"]] += e["amount_satang"]
        journal = {
            "budget_satang": -balance["fund_capital"],
            "committed_satang": balance["reserved_budget"],
            "disbursed_satang": by_kind["disbursement"],
            "repaid_satang": by_kind["repayment"] - by_kind["repayment_reversal"],
            "available_satang": balance["available_budget"],
        }
        check(journal == shown, f"{name}: figures {shown}, recomputed from the journal {journal}")
        check(journal["available_satang"] >= 0, f"{name}: the journal is over budget: {journal}")
        check(
            balance["loans_receivable"] == journal["disbursed_satang"] - journal["repaid_satang"]
            and balance["collections"] == (0 if fund.revolving else journal["repaid_satang"]),
            f"{name}: receivable {balance['loans_receivable']}, collections "
            f"{balance['collections']}, journal {journal}",
        )
        now = {e["id"]: e for e in entries}
        changed = [i for i, e in fund.seen.items() if now.get(i) != e]
        check(not changed, f"{name}: journal entries changed or gone: {changed[:5]}")
        fund.seen = now
        posted = Counter(e["repayment_id"] for e in entries if e["kind"] == "repayment")
        reversed_ = Counter(
            now[e["reverses_entry_id"]]["repayment_id"]
            for e in entries
            if e["kind"] == "repayment_reversal" and e["reverses_entry_id"] in now
        )
        for r in self.repaid.values():
            if self.loans[r.loan].fund != index:
                continue
            check(
                posted[r.id] == 1 and reversed_[r.id] == (1 if r.reversed else 0),
                f"{name}: repayment {r.id} (reversed: {r.reversed}) has {posted[r.id]} "
                f"repayment entries and {reversed_[r.id]} reversals",
            )

        tb = await self.api.get(f"/v1/funds/{fund.id}/trial-balance")
        if check(tb.status == 200, f"{name}: trial balance {tb.short()}"):
            body = tb.body
            check(
                body["balanced"]
                and body["reconciled"]
                and body["total_debits_satang"] == body["total_credits_satang"],
                f"{name}: trial balance {body}",
            )
            for line in body.get("reconciliation", []):
                if line["figure"] in shown:
                    check(
                        line["fund_satang"] == shown[line["figure"]] == line["ledger_satang"],
                        f"{name}: trial balance {line} against the fund's figures {shown}",
                    )

    async def _check_loans(self) -> None:
        async def one(loan: Loan) -> None:
            got = await self.api.get(f"/v1/loans/{loan.id}")
            if not self.failures.check(got.status == 200, f"GET loan {loan.id}: {got.short()}"):
                return
            body = got.body
            owed = self.outstanding(loan) if loan.disbursed_on else 0
            if loan.status not in ("active", "closed"):
                owed = body["outstanding_satang"]  # nothing lent yet
            self.failures.check(
                body["status"] == loan.status and body["outstanding_satang"] == owed,
                f"loan {loan.id}: {body['status']} owing {body['outstanding_satang']}, expected "
                f"{loan.status} owing {owed} (principal {loan.principal} − repaid + reversed)",
            )

        # A loan that was settled, rejected or withdrawn before the round and still
        # is cannot have changed: the rows above vouch for it.
        started: dict[str, str] = self._round["status"]
        settled = ("closed", "rejected", "withdrawn")
        await asyncio.gather(
            *(
                one(loan)
                for loan in self.loans.values()
                if not (started.get(loan.id) in settled and loan.status in settled)
            )
        )

    async def _check_events(self, fund_ids: list[uuid.UUID]) -> None:
        rows = await self.db.fetch(
            "SELECT type, data::text AS data FROM outbox"
            " WHERE type IN ('loan.submitted', 'loan.disbursed', 'loan.repayment_posted',"
            "                'loan.repayment_reversed')"
            "   AND data->>'fund_id' = ANY($1::text[])",
            [str(f) for f in fund_ids],
        )
        told: Counter[tuple[str, str]] = Counter()
        for r in rows:
            data = json.loads(r["data"])
            subject = data.get("repayment_id") or data.get("loan_id")
            told[r["type"], str(subject)] += 1
        for loan in self.loans.values():
            lent = 1 if loan.status in ("active", "closed") else 0
            self.failures.check(
                told["loan.submitted", loan.id] == 1 and told["loan.disbursed", loan.id] == lent,
                f"loan {loan.id} ({loan.status}): {told['loan.submitted', loan.id]} submitted and "
                f"{told['loan.disbursed', loan.id]} disbursed events",
            )
        for r in self.repaid.values():
            self.failures.check(
                told["loan.repayment_posted", r.id] == 1
                and told["loan.repayment_reversed", r.id] == (1 if r.reversed else 0),
                f"repayment {r.id} (reversed: {r.reversed}): "
                f"{told['loan.repayment_posted', r.id]} posted and "
                f"{told['loan.repayment_reversed', r.id]} reversed events",
            )
