from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses

from otog_registry.oauth.citizen import (
    TOKEN_EXCHANGE_GRANT,
    TokenExchangeResponse,
    exchange_id_token,
)
from otog_registry.oauth.repository import ApiClientRepository
from otog_registry.oauth.schemas import JsonWebKeySet, TokenRequest, TokenResponse
from otog_registry.oauth.service import (
    ClientService,
    InvalidClient,
    TokenService,
    check_grant_type,
)

router = APIRouter(prefix="/v1", tags=["auth"])

# The answer is one of two shapes, so each grant's example is named.
TOKEN_RESPONSE_EXAMPLES = {
    "client_credentials": {
        "summary": "Client credentials",
        "value": TokenResponse.model_json_schema()["examples"][0],
    },
    "token_exchange": {
        "summary": "A worker's national digital ID token exchanged (scope self)",
        "value": TokenExchangeResponse.model_json_schema()["examples"][0],
    },
}


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
    summary="Get an access token (client credentials, national digital ID exchange)",
    response_model=TokenResponse | TokenExchangeResponse,
    responses={
        200: {"content": {"application/json": {"examples": TOKEN_RESPONSE_EXAMPLES}}},
        **problem_responses(400, 401, 422, 503),
    },
)
async def issue_token(
    request: Request,
    response: Response,
    session: DbSession,
    form: Annotated[TokenRequest, Form()],
) -> TokenResponse | TokenExchangeResponse:
    """OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

    Send the credentials form-encoded, or with HTTP Basic authentication. The
    token is a JWT signed with EdDSA; verify it with the keys at
    `/v1/.well-known/jwks.json`.

    **Workers** (token exchange, RFC 8693):
    `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`,
    `subject_token` = the national digital ID's ID token,
    `subject_token_type=urn:ietf:params:oauth:token-type:id_token` and the app's `client_id`
    give an access token with the scope `self` for the registered worker the ID token names
    (`issued_token_type` = `urn:ietf:params:oauth:token-type:access_token`). A bad, expired or
    foreign ID token, or a person not registered, is 400 `invalid_grant`; a server without
    the national digital ID configured answers 400 `unsupported_grant_type`; 503 when the
    provider's keys cannot be fetched.
    """
    if form.grant_type == TOKEN_EXCHANGE_GRANT:
        response.headers["Cache-Control"] = "no-store"
        return await exchange_id_token(request, session, form)
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
