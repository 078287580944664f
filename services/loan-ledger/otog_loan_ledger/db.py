"""The request's database session for this service's endpoints.

The same ``get_db_session`` as every service (the only place that commits),
with the dependency scoped to the endpoint function: its commit then runs
before the response is sent. With FastAPI's default scope for a dependency
with ``yield`` the commit would run after the response had gone out, and a
client could be told "201, repayment posted" for a transaction that then
failed to commit — or read its own write before it was visible.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from otog_shared.db import get_db_session
from sqlalchemy.ext.asyncio import AsyncSession

DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
