from __future__ import annotations

from otog_shared.http import RegistryClientSettings
from pydantic_settings import SettingsConfigDict


class Settings(RegistryClientSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOANS_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/otog_loan_ledger"
    # How a repayment reaches its fund's figures: appended as a change folded into
    # the fund's row later (true), or added to the row in the repayment's own
    # transaction (false: every repayment of a fund queues on the row's lock).
    # Readers are right either way; the bench runs both side by side.
    fund_changes: bool = True
