"""The loans collection of sync, as `GET /v1/loans/{id}` shows a loan today."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from otog_shared.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.clock import bangkok_today
from otog_loan_ledger.loans.router import loan_out
from otog_loan_ledger.loans.schemas import LoanOut
from otog_loan_ledger.loans.service import LoanService
from otog_loan_ledger.sync.repository import SyncRepository


class LoanSync:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load_loans(
        self, principal: Principal, ids: Sequence[uuid.UUID], province: str | None
    ) -> dict[uuid.UUID, LoanOut]:
        loans = await SyncRepository(self.session).loans(ids, province)
        # The figures of the whole page in one pass, as the list does.
        figures = await LoanService(self.session).figures(loans, bangkok_today())
        return {loan.id: loan_out(loan, figures[loan.id]) for loan in loans}
