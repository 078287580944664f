from __future__ import annotations

from pathlib import Path

from otog_shared.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="REGISTRY_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/otog_registry"
    access_token_ttl_seconds: int = 900
    signing_key_file: str = "jwt-signing-key.pem"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / self.signing_key_file
