from __future__ import annotations

from otog_shared.schemas import RequestModel
from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    """Form fields of the client-credentials grant (RFC 6749 §4.4)."""

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
            "`client_credentials`, or `urn:ietf:params:oauth:grant-type:token-exchange` "
            "(a worker's national digital ID token exchanged for a `self` token)."
        ),
    )
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(default=None, max_length=256)
    scope: str | None = Field(
        default=None, max_length=1000, description="Optional subset of the client's scopes."
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
    scopes: list[str] = Field(examples=[["registry:read", "market:write"]])
    province: str | None = Field(default=None, pattern=r"^[0-9]{2}$", examples=["56"])


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
