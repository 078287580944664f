"""Authorization server metadata (RFC 8414) and its OpenID Connect discovery twin,
at the gateway's root: AppAuth and other client libraries configure themselves
from it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from otog_shared.auth import SCOPES
from otog_shared.errors import problem_responses

from otog_registry.oauth.grants import GRANTS
from otog_registry.oauth.schemas import AuthorizationServerMetadata
from otog_registry.settings import RegistrySettings

router = APIRouter(tags=["auth"])


def authorization_server_metadata(settings: RegistrySettings) -> dict[str, Any]:
    base = settings.issuer_url
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/v1/oauth/authorize",
        "token_endpoint": f"{base}/v1/oauth/token",
        "revocation_endpoint": f"{base}/v1/oauth/revoke",
        "jwks_uri": f"{base}/v1/.well-known/jwks.json",
        "grant_types_supported": sorted(GRANTS),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": sorted(SCOPES),
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "ui_locales_supported": ["th", "en"],
        "service_documentation": f"{base}/docs",
    }


def _document(request: Request, response: Response, *, oidc: bool) -> AuthorizationServerMetadata:
    document = authorization_server_metadata(request.app.state.settings)
    if oidc:
        # Discovery's required fields. No ID tokens are issued: access tokens are
        # EdDSA JWTs whose `sub` is the person.
        document |= {
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
        }
    response.headers["Cache-Control"] = "public, max-age=300"
    return AuthorizationServerMetadata.model_validate(document)


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
    responses=problem_responses(),
)
async def get_authorization_server_metadata(
    request: Request, response: Response
) -> AuthorizationServerMetadata:
    """Endpoints, grant types, PKCE methods and scopes of this authorization server."""
    return _document(request, response, oidc=False)


@router.get(
    "/.well-known/openid-configuration",
    summary="OpenID Connect discovery document",
    response_model=AuthorizationServerMetadata,
    response_model_exclude_none=True,
    responses=problem_responses(),
)
async def get_openid_configuration(
    request: Request, response: Response
) -> AuthorizationServerMetadata:
    """The same metadata under the OpenID Connect discovery name, for client libraries
    that look only there."""
    return _document(request, response, oidc=True)
