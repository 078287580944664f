"""Loans bucketed by days past due: the portfolio at risk of a fund, of a province,
of the whole programme."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from otog_loan_ledger.loans.schedule import PAR_BUCKETS, par_bucket
from otog_loan_ledger.loans.service import LoanFigures
from otog_loan_ledger.portfolio.schemas import ParBucketOut


def bps(part: int, whole: int) -> int:
    return part * 10_000 // whole if whole else 0


@dataclass
class ParTally:
    """Outstanding loans counted into the buckets, one loan's figures at a time."""

    loans: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in PAR_BUCKETS})
    outstanding: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in PAR_BUCKETS})
    arrears: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in PAR_BUCKETS})

    def add(self, figures: LoanFigures) -> None:
        position = figures.standing
        if position.outstanding_satang == 0:
            return  # repaid in full: no longer at risk, nor current
        bucket = par_bucket(position.days_past_due)
        self.loans[bucket] += 1
        self.outstanding[bucket] += position.outstanding_satang
        self.arrears[bucket] += position.arrears_satang

    def add_all(self, figures: Iterable[LoanFigures]) -> ParTally:
        for one in figures:
            self.add(one)
        return self

    @property
    def loan_count(self) -> int:
        return sum(self.loans.values())

    @property
    def outstanding_satang(self) -> int:
        return sum(self.outstanding.values())

    @property
    def arrears_satang(self) -> int:
        return sum(self.arrears.values())

    @property
    def at_risk_satang(self) -> int:
        """Outstanding principal of loans at least one day past due (PAR 1)."""
        return self.outstanding_satang - self.outstanding["current"]

    @property
    def par_bps(self) -> int:
        return bps(self.at_risk_satang, self.outstanding_satang)

    def buckets(self) -> list[ParBucketOut]:
        total = self.outstanding_satang
        return [
            ParBucketOut(
                bucket=name,
                min_days_past_due=low,
                max_days_past_due=high,
                loans=self.loans[name],
                outstanding_satang=self.outstanding[name],
                arrears_satang=self.arrears[name],
                share_bps=bps(self.outstanding[name], total),
            )
            for name, low, high in PAR_BUCKETS
        ]
