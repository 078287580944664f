from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import JsonWebKeySet, TokenRequest, TokenResponse
from otog_registry.oauth.service import (
    ClientService,
    InvalidClient,
    TokenService,
    check_grant_type,
)

router = APIRouter(prefix="/v1", tags=["auth"])


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


@router.post(
    "/oauth/token",
    summary="Get an access token (client credentials)",
    response_model=TokenResponse,
    responses=problem_responses(400, 401, 422),
)
async def issue_token(
    request: Request,
    response: Response,
    session: DbSession,
    form: Annotated[TokenRequest, Form()],
) -> TokenResponse:
    """OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

    Send the credentials form-encoded, or with HTTP Basic authentication. The
    token is a JWT signed with EdDSA; verify it with the keys at
    `/v1/.well-known/jwks.json`.
    """
    check_grant_type(form.grant_type)
    client_id, client_secret = form.client_id, form.client_secret
    basic = _basic_credentials(request)
    if basic:
        client_id, client_secret = basic
    if not client_id or not client_secret:
        raise InvalidClient("Client credentials are required.", error="invalid_client")
    client = await ClientService(ApiClientRepository(session)).authenticate(
        client_id, client_secret
    )
    tokens: TokenService = request.app.state.token_service
    response.headers["Cache-Control"] = "no-store"
    return tokens.issue(client, form.scope)


@router.get(
    "/.well-known/jwks.json",
    summary="Token signing keys (JWKS)",
    response_model=JsonWebKeySet,
    responses=problem_responses(),
)
async def get_jwks(request: Request, response: Response) -> JsonWebKeySet:
    """Public keys that verify the access tokens issued by `POST /v1/oauth/token`."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return JsonWebKeySet.model_validate(request.app.state.signing_key.jwks())
