"""The problem a reused client-chosen id raises, the same in every service."""

from __future__ import annotations

from otog_shared.errors import Conflict


class IdConflict(Conflict):
    slug, title = "id-conflict", "Id Conflict"
