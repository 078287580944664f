from __future__ import annotations

from otog_shared.http import RegistryClientSettings
from pydantic_settings import SettingsConfigDict


class Settings(RegistryClientSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOANS_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/otog_loan_ledger"
