"""Pure rules: national-ID check digit and mask, Thai fiscal years, stage transitions."""

from __future__ import annotations

import hmac
import operator
import os
import uuid
from datetime import UTC, date, datetime
from functools import reduce

import httpx
from hypothesis import given
from hypothesis import strategies as st
from otog_registry.fiscal import current_fiscal_year, fiscal_year_bounds, fiscal_year_of
from otog_registry.groups.stages import Stage, allowed_targets
from otog_registry.ids import new_id, new_ids
from otog_registry.pii.crypto import NationalIdProtector, PiiKeys
from otog_registry.pii.national_id import checksum_digit, is_valid, mask

from tests.registry.conftest import assert_problem

twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


@given(twelve_digits)
def test_check_digit_accepts_exactly_one_last_digit(first: str) -> None:
    valid = [d for d in "0123456789" if is_valid(first + d)]
    assert valid == [str(checksum_digit(first))]


def test_known_national_id() -> None:
    # 1-1017-00203-45-? : weights 13..2 give 144; (11 - 144 % 11) % 10 = 0.
    assert checksum_digit("110170020345") == 0
    assert is_valid("1101700203450") and is_valid("1-1017-00203-45-0")
    assert not is_valid("1101700203451")
    assert mask("1101700203450") == "x-xxxx-xxxx3-45-0"


def test_thai_fiscal_year() -> None:
    assert fiscal_year_of(date(2024, 9, 30)) == 2567
    assert fiscal_year_of(date(2024, 10, 1)) == 2568
    assert fiscal_year_of(date(2025, 9, 30)) == 2568
    assert fiscal_year_bounds(2568) == (date(2024, 10, 1), date(2025, 9, 30))
    # 30 September 17:30 UTC is already 1 October in Bangkok.
    assert current_fiscal_year(datetime(2025, 9, 30, 17, 30, tzinfo=UTC)) == 2569
    assert current_fiscal_year(datetime(2025, 9, 30, 16, 59, tzinfo=UTC)) == 2568


def test_transitions() -> None:
    assert allowed_targets(Stage.registered) == [Stage.prototype, Stage.suspended, Stage.dissolved]
    assert allowed_targets(Stage.marketing) == [Stage.suspended, Stage.dissolved]
    assert allowed_targets(Stage.suspended, Stage.funding) == [Stage.funding, Stage.dissolved]
    assert allowed_targets(Stage.dissolved) == []


def test_ids_are_time_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(1000)] + new_ids(5000) + [new_id()]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == 6001
    stamps = [i.int >> 80 for i in ids]
    assert stamps == sorted(stamps)
    # 74 random bits per id: a batch's ids differ in every one of those positions.
    random_bits = [(i.int >> 64) & 0xFFF | (i.int & ((1 << 62) - 1)) << 12 for i in ids[1000:6000]]
    assert reduce(operator.or_, random_bits) == (1 << 74) - 1
    assert reduce(operator.and_, random_bits) == 0


def test_bulk_encryption_reads_back_with_its_own_nonces() -> None:
    keys = PiiKeys(os.urandom(32), os.urandom(32))
    protector = NationalIdProtector(keys)
    nids = ["1101700203450", "1101700203450", "3100600123451"]
    sealed = protector.encrypt_many(nids)
    assert [protector.decrypt(blob) for blob in sealed] == nids
    assert len({blob[1:13] for blob in sealed}) == 3  # never one nonce twice
    # The keyed-once HMAC is the plain HMAC-SHA256 of the ID, again and again.
    expected = hmac.digest(keys.hmac_key, nids[2].encode(), "sha256")
    assert protector.lookup_hash(nids[2]) == protector.lookup_hash(nids[2]) == expected


async def test_wrong_method_is_problem(registry: httpx.AsyncClient) -> None:
    assert_problem(await registry.put("/v1/provinces"), 405)
    assert_problem(await registry.get("/v1/nothing-here"), 404)
