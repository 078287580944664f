"""Business dates: the programme runs on Bangkok time, whatever the server's zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")


def bangkok_today() -> date:
    return datetime.now(BANGKOK).date()
