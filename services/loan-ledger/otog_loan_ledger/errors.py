"""Typed problems of the loan ledger (each a stable ``/problems/<slug>`` type)."""

from __future__ import annotations

from otog_shared.errors import Conflict, UnprocessableEntity


class BudgetExceeded(Conflict):
    slug, title = "budget-exceeded", "Budget Exceeded"


class InvalidLoanTransition(Conflict):
    slug, title = "invalid-loan-transition", "Invalid Loan Transition"


class LoanNotActive(Conflict):
    slug, title = "loan-not-active", "Loan Not Active"


class OpenLoanExists(Conflict):
    slug, title = "open-loan-exists", "Open Loan Exists"


class DuplicateFund(Conflict):
    slug, title = "duplicate-fund", "Duplicate Fund"


class AlreadyReversed(Conflict):
    slug, title = "repayment-already-reversed", "Repayment Already Reversed"


class UnknownGroup(UnprocessableEntity):
    slug, title = "unknown-group", "Unknown Group"


class GroupNotEligible(UnprocessableEntity):
    slug, title = "group-not-eligible", "Group Not Eligible"


class GroupNoLongerEligible(Conflict):
    """The same problem type as :class:`GroupNotEligible`, met by a loan already
    applied for (at approval or disbursement): the request was valid, the group's
    standing in the registry has changed since, so it is a conflict with state."""

    slug, title = "group-not-eligible", "Group Not Eligible"


class ApplicationsClosed(UnprocessableEntity):
    slug, title = "applications-closed", "Applications Closed"


class PrincipalOutOfRange(UnprocessableEntity):
    slug, title = "principal-out-of-range", "Principal Out of Range"


class Overpayment(UnprocessableEntity):
    slug, title = "overpayment", "Overpayment"
