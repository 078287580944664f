"""The schedule, allocation and arrears rules (pure functions, property-based)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from otog_loan_ledger.loans.schedule import (
    add_months,
    allocate,
    allocate_one,
    build_schedule,
    fill_installments,
    par_bucket,
    standing,
)

THB = 100
PRINCIPALS = st.integers(min_value=50_000 * THB, max_value=300_000 * THB)
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2150, 12, 31))
FAST = settings(max_examples=300, deadline=None)


@FAST
@given(principal=PRINCIPALS, disbursed_on=DATES)
def test_programme_schedule_properties(principal: int, disbursed_on: date) -> None:
    plan = build_schedule(principal, 24, 100, disbursed_on)
    amounts = [p.principal_satang for p in plan]
    assert [p.number for p in plan] == list(range(1, 25))
    assert sum(amounts) == principal
    regular = amounts[0]
    assert all(a == regular for a in amounts[:-1])
    assert regular == principal // 24 // 100 * 100  # rounded down to whole baht
    assert regular % 100 == 0
    # The last takes the rest: at least a regular one, less than 24 baht more.
    assert regular <= amounts[-1] < regular + 24 * 100
    dues = [p.due_on for p in plan]
    assert all(a < b for a, b in pairwise(dues))
    for k, due in enumerate(dues, start=1):
        months = (due.year - disbursed_on.year) * 12 + due.month - disbursed_on.month
        assert months == k
        last_day = calendar.monthrange(due.year, due.month)[1]
        assert due.day == min(disbursed_on.day, last_day)


@FAST
@given(
    principal=st.integers(min_value=1, max_value=10**12),
    term=st.integers(min_value=1, max_value=120),
    multiple=st.sampled_from([1, 100, 500, 1000]),
    disbursed_on=DATES,
)
def test_any_terms_sum_exactly(
    principal: int, term: int, multiple: int, disbursed_on: date
) -> None:
    plan = build_schedule(principal, term, multiple, disbursed_on)
    amounts = [p.principal_satang for p in plan]
    assert len(plan) == term
    assert sum(amounts) == principal
    assert len(set(amounts[:-1])) <= 1
    assert all(a % multiple == 0 for a in amounts[:-1])
    assert amounts[-1] > 0


def test_every_whole_baht_at_the_range_edges() -> None:
    for principal in [*range(5_000_000, 5_010_000, 100), *range(29_990_000, 30_000_001, 100)]:
        amounts = [p.principal_satang for p in build_schedule(principal, 24, 100, date(2025, 1, 1))]
        assert sum(amounts) == principal and len(set(amounts[:-1])) == 1


def test_programme_examples() -> None:
    plan = build_schedule(30_000_000, 24, 100, date(2025, 1, 15))
    assert {p.principal_satang for p in plan} == {1_250_000}
    plan = build_schedule(5_000_001, 24, 100, date(2025, 1, 15))
    assert plan[0].principal_satang == 208_300  # 208,333.375 satang → 2,083 baht
    assert plan[-1].principal_satang == 5_000_001 - 23 * 208_300 == 209_101


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 31), 2, date(2025, 3, 31)),  # from the original date, not chained
        (date(2025, 1, 30), 1, date(2025, 2, 28)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),
        (date(2025, 11, 30), 24, date(2027, 11, 30)),
        (date(2025, 5, 5), 0, date(2025, 5, 5)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_schedule_from_january_31() -> None:
    dues = [p.due_on for p in build_schedule(30_000_000, 24, 100, date(2025, 1, 31))]
    assert dues[:4] == [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]
    assert dues[12] == date(2026, 2, 28) and dues[-1] == date(2027, 1, 31)


@FAST
@given(
    principal=PRINCIPALS,
    payments=st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=30),
)
def test_allocation_fills_oldest_first(principal: int, payments: list[int]) -> None:
    principals = [p.principal_satang for p in build_schedule(principal, 24, 100, date(2025, 1, 1))]
    # Keep only what fits in the principal, as the service does (overpayment is refused).
    kept: list[int] = []
    for amount in payments:
        if sum(kept) + amount <= principal:
            kept.append(amount)
    if not kept:
        return
    split = allocate(principals, kept)
    for amount, parts in zip(kept, split, strict=True):
        assert sum(a.amount_satang for a in parts) == amount
    per_installment = [0] * len(principals)
    for parts in split:
        for a in parts:
            per_installment[a.installment_number - 1] += a.amount_satang
    assert per_installment == fill_installments(principals, sum(kept))
    # Oldest first: no installment holds money while an older one is not full.
    for i in range(1, len(principals)):
        if per_installment[i] > 0:
            assert per_installment[i - 1] == principals[i - 1]


@FAST
@given(
    principal=PRINCIPALS,
    payments=st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=30),
)
def test_one_repayment_is_allocated_as_among_all(principal: int, payments: list[int]) -> None:
    principals = [p.principal_satang for p in build_schedule(principal, 24, 100, date(2025, 1, 1))]
    kept: list[int] = []
    for amount in payments:
        if sum(kept) + amount <= principal:
            kept.append(amount)
    if not kept:
        return
    for index, parts in enumerate(allocate(principals, kept)):
        assert allocate_one(principals, sum(kept[:index]), kept[index]) == parts


def test_allocate_refuses_more_than_the_principal() -> None:
    with pytest.raises(ValueError):
        allocate([100, 100], [150, 60])


PLAN = [
    (p.due_on, p.principal_satang) for p in build_schedule(2_400_000, 24, 100, date(2025, 1, 15))
]


@pytest.mark.parametrize(
    ("paid", "as_of", "outstanding", "arrears", "dpd"),
    [
        (0, date(2025, 1, 20), 2_400_000, 0, 0),
        (0, date(2025, 2, 15), 2_400_000, 0, 0),  # due today is not yet late
        (0, date(2025, 2, 16), 2_400_000, 100_000, 1),
        (0, date(2025, 3, 16), 2_400_000, 200_000, 29),  # the oldest unpaid counts
        (50_000, date(2025, 3, 16), 2_350_000, 150_000, 29),  # partly paid is still unpaid
        (100_000, date(2025, 3, 16), 2_300_000, 100_000, 1),
        (300_000, date(2025, 3, 16), 2_100_000, 0, 0),  # paid ahead
        (0, date(2025, 6, 14), 2_400_000, 400_000, 119),
        (2_400_000, date(2030, 1, 1), 0, 0, 0),
    ],
)
def test_standing(paid: int, as_of: date, outstanding: int, arrears: int, dpd: int) -> None:
    s = standing(PLAN, paid, as_of)
    assert (s.outstanding_satang, s.arrears_satang, s.days_past_due) == (outstanding, arrears, dpd)


@FAST
@given(paid=st.integers(min_value=0, max_value=2_400_000), offset=st.integers(0, 1200))
def test_standing_is_consistent(paid: int, offset: int) -> None:
    as_of = date(2025, 1, 15) + timedelta(days=offset)
    s = standing(PLAN, paid, as_of)
    assert s.outstanding_satang == 2_400_000 - paid
    assert 0 <= s.arrears_satang <= s.outstanding_satang
    assert (s.arrears_satang > 0) == (s.days_past_due > 0)


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [(0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
     (90, "61-90"), (91, "90+"), (5000, "90+")],
)  # fmt: skip
def test_par_buckets(dpd: int, bucket: str) -> None:
    assert par_bucket(dpd) == bucket
