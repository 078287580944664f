from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from otog_loan_ledger.loans.schemas import LOAN_EXAMPLE, LoanOut, ScheduleOut

MY_LOAN_EXAMPLE = {
    **LOAN_EXAMPLE,
    "schedule": {
        "loan_id": LOAN_EXAMPLE["id"],
        "as_of": LOAN_EXAMPLE["as_of"],
        "principal_satang": LOAN_EXAMPLE["principal_satang"],
        "installments": [
            {
                "number": 1,
                "due_on": "2025-02-15",
                "principal_satang": 1_250_000,
                "paid_satang": 1_250_000,
                "outstanding_satang": 0,
                "status": "paid",
            }
        ],
    },
}


class MyLoanOut(LoanOut):
    """A loan of one of the worker's groups, with its schedule (no installments
    before disbursement)."""

    model_config = ConfigDict(json_schema_extra={"examples": [MY_LOAN_EXAMPLE]})

    schedule: ScheduleOut


class MyLoans(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [MY_LOAN_EXAMPLE]}]})

    items: list[MyLoanOut]
