"""The console's endpoints use each service's own fixtures: the in-process registry
(tests/conftest.py), training and the loan ledger (their suites' conftest files), each
rolled back after the test, the last two talking to the live registry process."""

from __future__ import annotations

from tests.loans.conftest import auth, groups, loans, loans_app, loans_session  # noqa: F401
from tests.training.conftest import (  # noqa: F401
    live_registry_client,
    training,
    training_app,
    training_client_registered,
    training_session,
)
