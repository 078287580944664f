from __future__ import annotations

from otog_shared.schemas import RequestModel
from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    """Form fields of the client-credentials grant (RFC 6749 §4.4)."""

    grant_type: str | None = Field(default=None, description="Must be `client_credentials`.")
    client_id: str | None = Field(default=None, max_length=64)
    client_secret: str | None = Field(default=None, max_length=256)
    scope: str | None = Field(
        default=None, max_length=1000, description="Optional subset of the client's scopes."
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
    keys: list[JsonWebKey]


class ClientCredentials(BaseModel):
    client_id: str
    client_secret: str
    name: str
    scopes: list[str]
    province: str | None


class ClientCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200, examples=["Ministry of Commerce — trade fairs"])
    scopes: list[str] = Field(examples=[["registry:read", "market:write"]])
    province: str | None = Field(default=None, pattern=r"^[0-9]{2}$", examples=["56"])


class WhoAmI(BaseModel):
    client_id: str
    scopes: list[str]
    province: str | None
