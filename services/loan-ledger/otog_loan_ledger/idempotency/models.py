from __future__ import annotations

from otog_shared.client_ids.models import add_created_resources_table
from otog_shared.idempotency.models import add_idempotency_table

from otog_loan_ledger.models import Base

# The mechanism is otog_shared.idempotency's; this declares its table for migrations.
idempotency_keys = add_idempotency_table(Base.metadata)
# And otog_shared.client_ids's: the creates made with a client-chosen id.
created_resources = add_created_resources_table(Base.metadata)
