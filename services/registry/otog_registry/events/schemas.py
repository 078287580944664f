from __future__ import annotations

from otog_shared.events import CloudEvent
from pydantic import BaseModel, ConfigDict, Field


class EventPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": CloudEvent.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
                    "next_cursor": "WzQyXQ",
                }
            ]
        }
    )

    items: list[CloudEvent]
    next_cursor: str = Field(
        description=(
            "Pass as `after` for what comes next; always present, also on an empty page "
            "(poll with it later)."
        )
    )
