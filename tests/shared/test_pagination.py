from __future__ import annotations

import pytest
from otog_shared.errors import UnprocessableEntity
from otog_shared.pagination import PageParams, decode_cursor, encode_cursor, paginate


def test_cursor_round_trip() -> None:
    values = ["2026-01-01T00:00:00+07:00", "7d0f4a7e-0000-4000-8000-000000000000"]
    assert decode_cursor(encode_cursor(values)) == values


@pytest.mark.parametrize("bad", ["not base64!!", "e30", "bnVsbA"])
def test_bad_cursor_is_422(bad: str) -> None:
    with pytest.raises(UnprocessableEntity):
        decode_cursor(bad)


def test_paginate_cuts_and_points_at_the_last_item() -> None:
    rows = list(range(6))
    items, cursor = paginate(rows, PageParams(limit=5, after=None), key=lambda r: [r])
    assert items == [0, 1, 2, 3, 4]
    assert cursor is not None and decode_cursor(cursor) == [4]
    items, cursor = paginate(rows[:3], PageParams(limit=5, after=None), key=lambda r: [r])
    assert items == [0, 1, 2] and cursor is None


def test_unpack_cursor_parses_or_answers_422() -> None:
    import uuid

    from otog_shared.pagination import as_datetime, as_int, as_uuid, unpack_cursor

    key = str(uuid.uuid4())
    moment, parsed = unpack_cursor(["2026-01-01T00:00:00+07:00", key], as_datetime, as_uuid)
    assert parsed == uuid.UUID(key) and moment.utcoffset() is not None
    for bad in (["x"], [1, 2], [True]):
        with pytest.raises(UnprocessableEntity):
            unpack_cursor(bad, as_int)
    with pytest.raises(UnprocessableEntity):
        unpack_cursor(["2026-01-01T00:00:00"], as_datetime)  # naive: not one of ours
