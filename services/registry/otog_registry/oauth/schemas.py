from __future__ import annotations

from typing import Literal

from otog_shared.schemas import RequestModel
from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    """Form fields of the token endpoint's grants: `client_credentials` (RFC 6749 §4.4),
    `authorization_code` with PKCE (§4.1.3, RFC 7636 §4.5) and `refresh_token` (§6)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "grant_type": "client_credentials",
                    "client_id": "otog_7ac823b922aa2f24269c",
                    "client_secret": "frlOdz2qB0UtjLYhl7JzYRMSMpZho72kSL8t6Xm4aBI",
                    "scope": "registry:read market:write",
                }
            ]
        }
    )

    grant_type: str | None = Field(
        default=None,
        description=(
            "`client_credentials`, `authorization_code`, `refresh_token`, or "
            "`urn:ietf:params:oauth:grant-type:token-exchange` (a worker's national digital "
            "ID token exchanged for a `self` token)."
        ),
    )
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(
        default=None, max_length=256, description="Confidential clients only; apps send none."
    )
    scope: str | None = Field(
        default=None, max_length=1000, description="Optional subset of the client's scopes."
    )
    code: str | None = Field(default=None, max_length=256, description="`authorization_code`.")
    redirect_uri: str | None = Field(
        default=None, max_length=2000, description="`authorization_code`: as in the request."
    )
    code_verifier: str | None = Field(
        default=None, max_length=128, description="`authorization_code`: the PKCE verifier."
    )
    refresh_token: str | None = Field(
        default=None, max_length=256, description="`refresh_token`: the latest one issued."
    )
    # Token exchange (RFC 8693) of the national digital ID's ID token.
    subject_token: str | None = Field(
        default=None, max_length=8192, description="Token exchange: the provider's ID token."
    )
    subject_token_type: str | None = Field(
        default=None,
        max_length=100,
        description="Token exchange: `urn:ietf:params:oauth:token-type:id_token`.",
    )
    requested_token_type: str | None = Field(
        default=None,
        max_length=100,
        description="Token exchange: optional, `urn:ietf:params:oauth:token-type:access_token`.",
    )


class TokenResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln",
                    "token_type": "Bearer",
                    "expires_in": 900,
                    "scope": "registry:read training:read",
                }
            ]
        }
    )

    access_token: str
    token_type: str = Field(default="Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Lifetime of the token in seconds.")
    scope: str = Field(description="Space-separated scopes granted.")
    refresh_token: str | None = Field(
        default=None,
        description="People's sign-ins only: use once, then keep the new one it returns.",
    )


class JsonWebKey(BaseModel):
    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    alg: str | None = None
    use: str | None = None
    crv: str | None = None
    x: str | None = None


class JsonWebKeySet(BaseModel):
    """The public keys tokens are signed with (RFC 7517); `kid` is the RFC 7638 thumbprint."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "keys": [
                        {
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": "bU4kkw8-ecSkaANOQ1W8ZqWpBc06Kl0UQpdHvagUOF0",
                            "kid": "_BIMgMjNFNDbshCFEWLPw4X6xvESySSOkSGqKZMi7Po",
                            "alg": "EdDSA",
                            "use": "sig",
                        }
                    ]
                }
            ]
        }
    )

    keys: list[JsonWebKey]


class ClientCredentials(BaseModel):
    """A new client's credentials; the secret is shown only in this response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": "otog_7ac823b922aa2f24269c",
                    "client_secret": "frlOdz2qB0UtjLYhl7JzYRMSMpZho72kSL8t6Xm4aBI",
                    "name": "สำนักงานพาณิชย์จังหวัดพะเยา — Phayao Provincial Commerce Office",
                    "scopes": ["market:write", "registry:read"],
                    "province": "56",
                }
            ]
        }
    )

    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    province: str | None


class ClientCreate(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "สำนักงานพาณิชย์จังหวัดพะเยา — Phayao Provincial Commerce Office",
                    "scopes": ["registry:read", "market:write"],
                    "province": "56",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200, examples=["Ministry of Commerce — trade fairs"])
    type: Literal["confidential", "public"] = Field(
        default="confidential",
        description="`confidential` (a server with a secret) or `public` (an app: no secret, "
        "people sign in through it with the authorization code flow and PKCE).",
    )
    scopes: list[str] = Field(examples=[["registry:read", "market:write"]])
    province: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2}$",
        examples=["56"],
        description="Confidential clients only; an app's tokens carry the person's province.",
    )
    redirect_uris: list[str] | None = Field(
        default=None,
        max_length=20,
        description="Public clients: where sign-ins may return (matched exactly).",
        examples=[["th.go.mol.otog.field:/oauth/callback"]],
    )


class AppClientOut(BaseModel):
    """A public client (an app). It has no secret."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": "otog_app_5b1f0c2e9d8a7b6c5d4e",
                    "name": "OTOG Field Officer app",
                    "type": "public",
                    "redirect_uris": ["th.go.mol.otog.field:/oauth/callback"],
                    "scopes": ["registry:read", "registry:write"],
                }
            ]
        }
    )

    client_id: str
    name: str
    type: Literal["public"] = "public"
    redirect_uris: list[str]
    scopes: list[str]


class WhoAmI(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": "otog_7ac823b922aa2f24269c",
                    "scopes": ["market:write", "registry:read"],
                    "province": "56",
                }
            ]
        }
    )

    client_id: str
    scopes: list[str]
    province: str | None


class RevocationRequest(BaseModel):
    """Form fields of token revocation (RFC 7009 §2.1)."""

    token: str = Field(min_length=1, max_length=256, description="The refresh token to revoke.")
    token_type_hint: str | None = Field(
        default=None, max_length=32, description="Ignored: only refresh tokens are revocable."
    )
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(default=None, max_length=256)


class SignInForm(BaseModel):
    """The sign-in page's form. Every field is optional here: a bad submission is
    answered with the page again, not with a JSON error."""

    username: str | None = None
    password: str | None = Field(default=None, json_schema_extra={"format": "password"})
    csrf_token: str | None = Field(default=None, description="The page's hidden field.")


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 metadata (and, under the OpenID name, the discovery fields)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "issuer": "https://api.otog.mol.go.th",
                    "authorization_endpoint": "https://api.otog.mol.go.th/v1/oauth/authorize",
                    "token_endpoint": "https://api.otog.mol.go.th/v1/oauth/token",
                    "revocation_endpoint": "https://api.otog.mol.go.th/v1/oauth/revoke",
                    "jwks_uri": "https://api.otog.mol.go.th/v1/.well-known/jwks.json",
                    "grant_types_supported": [
                        "authorization_code",
                        "client_credentials",
                        "refresh_token",
                    ],
                    "response_types_supported": ["code"],
                    "response_modes_supported": ["query"],
                    "code_challenge_methods_supported": ["S256"],
                    "scopes_supported": ["registry:read", "registry:write"],
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
                    "service_documentation": "https://api.otog.mol.go.th/docs",
                }
            ]
        },
    )

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    code_challenge_methods_supported: list[str]
    scopes_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    ui_locales_supported: list[str]
    service_documentation: str
    subject_types_supported: list[str] | None = None
    id_token_signing_alg_values_supported: list[str] | None = None
