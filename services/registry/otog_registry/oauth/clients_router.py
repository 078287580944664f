from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Security
from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import FieldError, UnprocessableEntity, problem_responses
from otog_shared.idempotency.http import IdempotentRoute

from otog_registry.audit.service import AuditLog
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import AppClientOut, ClientCreate, ClientCredentials, WhoAmI
from otog_registry.oauth.service import ClientService

router = APIRouter(route_class=IdempotentRoute, prefix="/v1/clients", tags=["clients"])


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
    summary="Create an API client or an app",
    response_model=ClientCredentials | AppClientOut,
    responses={
        201: {
            "description": "The client with its secret, or the app.",
            "content": {
                "application/json": {
                    "examples": {
                        "confidential": {
                            "value": ClientCredentials.model_json_schema()["examples"][0]
                        },
                        "public": {"value": AppClientOut.model_json_schema()["examples"][0]},
                    }
                }
            },
        },
        **problem_responses(401, 403, 422),
    },
)
async def create_client(
    body: ClientCreate,
    session: DbSession,
    principal: Annotated[Principal, Security(authenticate, scopes=["admin"])],
) -> ClientCredentials | AppClientOut:
    """Creates a confidential client and returns its secret (shown only this once), or,
    with `"type": "public"` and `redirect_uris`, an app whose users sign in through
    `/v1/oauth/authorize` (authorization code with PKCE; no secret)."""
    service = ClientService(ApiClientRepository(session))
    if body.type == "public":
        if body.province is not None:
            raise UnprocessableEntity(
                "An app's tokens carry the province of the person signed in.",
                errors=[FieldError(field="body.province", message="not for public clients")],
            )
        app = await service.create_app(
            name=body.name, redirect_uris=body.redirect_uris or [], scopes=body.scopes
        )
        await AuditLog(session).record(
            "client.created",
            "client",
            None,
            {
                "client_id": app.client_id,
                "name": app.name,
                "type": "public",
                "scopes": app.scopes,
                "redirect_uris": app.redirect_uris,
            },
        )
        return app
    if body.redirect_uris:
        raise UnprocessableEntity(
            "Redirect URIs belong to public clients (apps).",
            errors=[FieldError(field="body.redirect_uris", message="only with type public")],
        )
    creds = await service.create(name=body.name, scopes=body.scopes, province=body.province)
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
