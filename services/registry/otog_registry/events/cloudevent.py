"""The one mapping from an ``event_log`` row to the CloudEvents 1.0 JSON partners get
(the feed and the webhooks both use it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol


class EventRow(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def source(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def province_code(self) -> str | None: ...
    @property
    def data(self) -> Any: ...
    @property
    def occurred_at(self) -> datetime: ...


def to_cloudevent(row: EventRow) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(row.id),
        "source": row.source,
        "type": row.type,
        "time": row.occurred_at.isoformat(),
        "subject": row.subject,
        "datacontenttype": "application/json",
        "data": row.data,
    }
    # An extension attribute is absent, not null, when it has no value (CloudEvents 1.0).
    if row.province_code is not None:
        event["provincecode"] = row.province_code
    return event
