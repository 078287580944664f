from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from otog_shared.db import DbSession
from otog_shared.errors import problem_response, problem_responses

from otog_registry.oauth.citizen import TokenExchangeResponse
from otog_registry.oauth.errors import InvalidRequest, OAuthProblem, UnsupportedGrantType
from otog_registry.oauth.grants import GRANTS, GrantContext
from otog_registry.oauth.schemas import (
    JsonWebKeySet,
    RevocationRequest,
    TokenRequest,
    TokenResponse,
)

router = APIRouter(prefix="/v1", tags=["auth"])

# The answer is one of two shapes, so each grant's example is named.
TOKEN_RESPONSE_EXAMPLES = {
    "client_credentials": {
        "summary": "Client credentials (or a code, or a refresh token: then with refresh_token)",
        "value": TokenResponse.model_json_schema()["examples"][0],
    },
    "token_exchange": {
        "summary": "A worker's national digital ID token exchanged (scope self)",
        "value": TokenExchangeResponse.model_json_schema()["examples"][0],
    },
}


@router.post(
    "/oauth/token",
    summary="Get an access token",
    response_model=TokenResponse | TokenExchangeResponse,
    response_model_exclude_none=True,
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
) -> Any:
    """OAuth 2.0 token endpoint.

    - `client_credentials` (RFC 6749 §4.4): servers with a secret, sent form-encoded or with
      HTTP Basic authentication.
    - `authorization_code` (§4.1.3) with PKCE (RFC 7636): `code`, `redirect_uri`, `client_id`,
      `code_verifier`, after a person signed in at `/v1/oauth/authorize`. Returns a
      `refresh_token` too.
    - `refresh_token` (§6): `refresh_token`, `client_id`. Every refresh returns a new refresh
      token; presenting a used one revokes every token of that sign-in.
    - **Workers**: token exchange (RFC 8693),
      `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `subject_token` = the
      national digital ID's ID token, `subject_token_type=urn:ietf:params:oauth:token-type:id_token`
      and the app's `client_id` give an access token with the scope `self` for the registered
      worker the ID token names. A bad, expired or foreign ID token, or a person not registered,
      is 400 `invalid_grant`; a server without the national digital ID configured answers 400
      `unsupported_grant_type`; 503 when the provider's keys cannot be fetched.

    The access token is a JWT signed with EdDSA; verify it with the keys at
    `/v1/.well-known/jwks.json`. Errors carry RFC 6749's `error` and `error_description`.
    """
    if not form.grant_type:
        raise InvalidRequest("grant_type is required.")
    grant = GRANTS.get(form.grant_type)
    if grant is None:
        raise UnsupportedGrantType("Supported grant types: " + ", ".join(sorted(GRANTS)) + ".")
    context = GrantContext(
        request=request,
        form=form,
        session=session,
        tokens=request.app.state.token_service,
        settings=request.app.state.settings,
    )
    try:
        token = await grant(context)
    except OAuthProblem as exc:
        if not exc.keeps_changes:
            raise
        # Returned rather than raised: the request's session commits what the refusal
        # decided (a spent code, a revoked token family).
        refusal: JSONResponse = problem_response(exc)
        refusal.headers["Cache-Control"] = "no-store"
        return refusal
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return token


@router.post(
    "/oauth/revoke",
    summary="Revoke a refresh token (sign out)",
    status_code=200,
    response_class=Response,
    responses={
        200: {"description": "Revoked, or nothing to revoke (RFC 7009 §2.2)."},
        **problem_responses(400, 401, 422),
    },
)
async def revoke_token(
    request: Request,
    session: DbSession,
    form: Annotated[RevocationRequest, Form()],
) -> Response:
    """Token revocation (RFC 7009) for refresh tokens: revoking one revokes every token of
    that sign-in. Apps send `token` and `client_id`. An unknown, expired or someone
    else's token is answered 200 as well, as the RFC asks. Access tokens are short-lived
    JWTs and simply expire."""
    context = GrantContext(
        request=request,
        form=TokenRequest(client_id=form.client_id, client_secret=form.client_secret),
        session=session,
        tokens=request.app.state.token_service,
        settings=request.app.state.settings,
    )
    client = await context.identify_client()
    await context.refresh_tokens().revoke(form.token, client)
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


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
