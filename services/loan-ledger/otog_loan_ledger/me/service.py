"""The loans a worker signed in with the national digital ID may see: their groups'."""

from __future__ import annotations

from datetime import date

from otog_shared.auth import Principal, worker_of
from sqlalchemy.ext.asyncio import AsyncSession

from otog_loan_ledger.loans.models import Loan
from otog_loan_ledger.loans.repository import LoanRepository
from otog_loan_ledger.loans.service import InstallmentView, LoanFigures, LoanService
from otog_loan_ledger.registry import RegistryGateway


class MyLoansService:
    def __init__(self, session: AsyncSession, registry: RegistryGateway) -> None:
        self.loans = LoanRepository(session)
        self.service = LoanService(session)
        self.registry = registry

    async def loans_of(
        self, principal: Principal, as_of: date
    ) -> list[tuple[Loan, LoanFigures, list[InstallmentView]]]:
        """Loans of the groups the worker belongs to now, whatever their province:
        the registry says which groups (it owns memberships)."""
        worker_id = worker_of(principal)
        assert worker_id is not None  # CurrentWorker lets only workers in
        groups = await self.registry.current_groups_of(worker_id)
        loans = await self.loans.of_groups(groups)
        figures = await self.service.figures(loans, as_of)
        return [
            (loan, figures[loan.id], await self.service.installments(loan, as_of)) for loan in loans
        ]
