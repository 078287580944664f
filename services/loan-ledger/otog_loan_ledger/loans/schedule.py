"""Pure rules for repayment schedules, allocation and arrears (no I/O).

The schedule rule is the public contract's: ``n`` installments; each of the
first ``n - 1`` is ``principal / n`` rounded down to the fund's multiple (100
satang = whole baht); the last takes the rest, so the sum is exactly the
principal. Installment ``k`` is due ``k`` months after the disbursement date,
on the same day of the month, or on the month's last day where that day does
not exist. Each due date is computed from the disbursement date, never from
the previous due date, so 31 January gives 28/29 February and then 31 March.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, clamped to the month's last day."""
    if months < 0:
        raise ValueError("months must not be negative")
    years, month_index = divmod(start.month - 1 + months, 12)
    year = start.year + years
    month = month_index + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


@dataclass(frozen=True)
class PlannedInstallment:
    number: int
    due_on: date
    principal_satang: int


def build_schedule(
    principal_satang: int, term_months: int, multiple_satang: int, disbursed_on: date
) -> list[PlannedInstallment]:
    if principal_satang <= 0:
        raise ValueError("principal must be positive")
    if term_months < 1:
        raise ValueError("term must be at least one month")
    if multiple_satang < 1:
        raise ValueError("the rounding multiple must be positive")
    regular = principal_satang // term_months // multiple_satang * multiple_satang
    last = principal_satang - regular * (term_months - 1)
    return [
        PlannedInstallment(
            number=k,
            due_on=add_months(disbursed_on, k),
            principal_satang=regular if k < term_months else last,
        )
        for k in range(1, term_months + 1)
    ]


def fill_installments(principals: Sequence[int], paid_total: int) -> list[int]:
    """How much of each installment ``paid_total`` covers, oldest first."""
    if paid_total < 0 or paid_total > sum(principals):
        raise ValueError("paid total outside 0..principal")
    paid: list[int] = []
    remaining = paid_total
    for principal in principals:
        share = min(principal, remaining)
        paid.append(share)
        remaining -= share
    return paid


@dataclass(frozen=True)
class Allocation:
    installment_number: int
    amount_satang: int


def allocate(principals: Sequence[int], amounts: Sequence[int]) -> list[list[Allocation]]:
    """Split repayments (in the order they count) over installments, oldest unpaid first.

    Returns one list of allocations per repayment. Installment numbers are
    1-based, like the schedule's.
    """
    if sum(amounts) > sum(principals) or any(a <= 0 for a in amounts):
        raise ValueError("repayments must be positive and within the principal")
    result: list[list[Allocation]] = []
    index = 0
    left_in_current = principals[0] if principals else 0
    for amount in amounts:
        parts: list[Allocation] = []
        remaining = amount
        while remaining > 0:
            while left_in_current == 0:
                index += 1
                left_in_current = principals[index]
            share = min(remaining, left_in_current)
            parts.append(Allocation(index + 1, share))
            remaining -= share
            left_in_current -= share
        result.append(parts)
    return result


def allocate_one(principals: Sequence[int], paid_before: int, amount: int) -> list[Allocation]:
    """The allocations of one repayment, when the repayments counted before it
    add up to ``paid_before``: the same as its share of :func:`allocate` over
    them all, without their amounts one by one."""
    if paid_before < 0 or amount <= 0 or paid_before + amount > sum(principals):
        raise ValueError("repayment outside 0..principal")
    parts: list[Allocation] = []
    start, end = paid_before, paid_before + amount
    low = 0
    for number, principal in enumerate(principals, start=1):
        high = low + principal
        share = min(high, end) - max(low, start)
        if share > 0:
            parts.append(Allocation(number, share))
        if high >= end:
            break
        low = high
    return parts


@dataclass(frozen=True)
class Standing:
    """A loan's position on one day."""

    outstanding_satang: int
    arrears_satang: int
    days_past_due: int


NOT_DISBURSED = Standing(0, 0, 0)


def standing(installments: Sequence[tuple[date, int]], paid_total: int, as_of: date) -> Standing:
    """Outstanding principal, the amount overdue and days past due on ``as_of``.

    ``installments`` are ``(due_on, principal)`` in schedule order and
    ``paid_total`` is what was paid up to and including ``as_of``. An
    installment is overdue from the day after its due date; days past due count
    from the due date of the oldest installment not fully paid.
    """
    total = sum(p for _, p in installments)
    if paid_total < 0 or paid_total > total:
        raise ValueError("paid total outside 0..principal")
    due_before = sum(p for due_on, p in installments if due_on < as_of)
    arrears = max(0, due_before - paid_total)
    days_past_due = 0
    cumulative = 0
    for due_on, principal in installments:
        cumulative += principal
        if cumulative > paid_total:
            if due_on < as_of:
                days_past_due = (as_of - due_on).days
            break
    return Standing(total - paid_total, arrears, days_past_due)


PAR_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)


def par_bucket(days_past_due: int) -> str:
    for name, low, high in PAR_BUCKETS:
        if days_past_due >= low and (high is None or days_past_due <= high):
            return name
    raise ValueError("days past due must not be negative")
