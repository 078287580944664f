from otog_shared.migrations import run_env

from otog_loan_ledger.models import Base

run_env(Base.metadata)
