from otog_shared.migrations import run_env

import otog_loan_ledger.funds.models
import otog_loan_ledger.idempotency.models
import otog_loan_ledger.ledger.models
import otog_loan_ledger.loans.models
import otog_loan_ledger.overdue.models
import otog_loan_ledger.repayments.models  # noqa: F401 (registers the tables)
from otog_loan_ledger.models import Base

run_env(Base.metadata)
