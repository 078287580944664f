from __future__ import annotations

from otog_shared.http import RegistryClientSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(RegistryClientSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRAINING_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/otog_training"
    # Bookings of a session waiting in this process are booked together, in one
    # transaction (otog_training.enrollments.batcher); off, each booking is its own
    # transaction, one commit at a time per session.
    booking_batching: bool = True
    # The most bookings one such transaction takes.
    booking_batch_limit: int = Field(default=500, ge=1)
    # Concurrent bookings' lookups of workers in the registry share calls
    # (otog_shared.coalesce): one GET /v1/workers?id=… answers every lookup that
    # queued while the call before it was under way. Off, one call per booking.
    registry_lookups_coalesced: bool = True
