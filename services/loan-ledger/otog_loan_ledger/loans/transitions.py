"""The loan lifecycle: one table of every legal transition.

Anything not in :data:`TRANSITIONS` is refused with 409. Modelled on Apache
Fineract's loan states: an approval can be undone (back to ``submitted``) until
the money goes out; an applicant can withdraw a submitted or an approved loan;
only a submitted loan can be rejected; a disbursed loan closes when it is paid
in full, and reopens if a repayment that closed it is reversed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from otog_loan_ledger.errors import InvalidLoanTransition


class LoanStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class LoanAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    UNDO_APPROVAL = "undo_approval"
    DISBURSE = "disburse"
    # Taken by the system, not by a caller: a repayment that settles the loan,
    # and the reversal of one.
    CLOSE = "close"
    REOPEN = "reopen"


S, A = LoanStatus, LoanAction

TRANSITIONS: Mapping[tuple[LoanStatus, LoanAction], LoanStatus] = {
    (S.SUBMITTED, A.APPROVE): S.APPROVED,
    (S.SUBMITTED, A.REJECT): S.REJECTED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.UNDO_APPROVAL): S.SUBMITTED,
    (S.APPROVED, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.DISBURSE): S.ACTIVE,
    (S.ACTIVE, A.CLOSE): S.CLOSED,
    (S.CLOSED, A.REOPEN): S.ACTIVE,
}

# A group may apply to a fund only while it holds no loan of the fund in these
# states; a loan reopened by a reversed repayment may stand beside a newer one
# (see ``Loan.reopened``).
OPEN_STATUSES = (S.SUBMITTED, S.APPROVED, S.ACTIVE)


def allowed_actions(status: LoanStatus) -> list[LoanAction]:
    return [action for (source, action) in TRANSITIONS if source == status]


def next_status(current: LoanStatus, action: LoanAction) -> LoanStatus:
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise InvalidLoanTransition(
            f"A {current.value} loan cannot be {_past(action)}.",
            status_now=current.value,
            action=action.value,
            allowed_actions=[a.value for a in allowed_actions(current)],
        )
    return target


def _past(action: LoanAction) -> str:
    return {
        A.APPROVE: "approved",
        A.REJECT: "rejected",
        A.WITHDRAW: "withdrawn",
        A.UNDO_APPROVAL: "set back to submitted",
        A.DISBURSE: "disbursed",
        A.CLOSE: "closed",
        A.REOPEN: "reopened",
    }[action]
