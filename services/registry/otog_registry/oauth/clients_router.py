from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import ClientCreate, ClientCredentials, WhoAmI
from otog_registry.oauth.service import ClientService

router = APIRouter(prefix="/v1/clients", tags=["clients"])


@router.get("/me", summary="Who am I", response_model=WhoAmI, responses=problem_responses(401))
async def get_current_client(
    principal: Annotated[Principal, Security(authenticate)],
) -> WhoAmI:
    """The client, scopes and province the presented token stands for."""
    return WhoAmI(
        client_id=principal.client_id,
        scopes=sorted(principal.scopes),
        province=principal.province,
    )


@router.post(
    "",
    status_code=201,
    summary="Create an API client",
    response_model=ClientCredentials,
    responses=problem_responses(401, 403, 422),
)
async def create_client(
    body: ClientCreate,
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate, scopes=["admin"])],
) -> ClientCredentials:
    """Creates a client and returns its secret. The secret is shown only this once."""
    creds = await ClientService(ApiClientRepository(session)).create(
        name=body.name, scopes=body.scopes, province=body.province
    )
    await AuditLog(session).record(
        "client.created",
        "client",
        None,
        {
            "client_id": creds.client_id,
            "name": creds.name,
            "scopes": creds.scopes,
            "province": creds.province,
        },
        province_code=creds.province,
    )
    return creds
