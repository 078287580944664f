# ruff: noqa: S311
"""Generated data: distinct valid national IDs, worker CSV files, names."""

from __future__ import annotations

import random
from collections.abc import Iterator

FIRST_NAMES = ("สมศรี", "สมชาย", "มาลี", "บุญมี", "ประเสริฐ", "วันดี", "สุดา", "ชัยวัฒน์")
LAST_NAMES = ("ใจดี", "รักไทย", "ทองคำ", "ศรีสุข", "มั่นคง", "บุญเรือง", "แก้วมณี", "พึ่งตน")
CSV_HEADER = "national_id,first_name_th,last_name_th,birth_date,subdistrict_code\n"


def check_digit(first_twelve: str) -> int:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first_twelve))
    return (11 - total % 11) % 10


def national_id(n: int, *, prefix: int = 3) -> str:
    """The n-th ID of a run: distinct for distinct n (< 10**11), valid checksum.
    ``prefix`` (1..8) keeps data sets of different scenarios apart."""
    twelve = f"{prefix}{n:011d}"
    return twelve + str(check_digit(twelve))


def worker_csv_chunks(
    start: int,
    count: int,
    subdistricts: list[str],
    *,
    prefix: int = 3,
    rows_per_chunk: int = 20_000,
    seed: int = 7,
) -> Iterator[bytes]:
    """A CSV file (header first) of ``count`` workers, as byte chunks."""
    rng = random.Random(seed + start)
    yield CSV_HEADER.encode()
    buf: list[str] = []
    for n in range(start, start + count):
        buf.append(
            f"{national_id(n, prefix=prefix)},{FIRST_NAMES[n % 8]},{LAST_NAMES[(n // 8) % 8]},"
            f"{1950 + n % 50}-{1 + n % 12:02d}-{1 + n % 28:02d},"
            f"{subdistricts[rng.randrange(len(subdistricts))]}\n"
        )
        if len(buf) >= rows_per_chunk:
            yield "".join(buf).encode()
            buf = []
    if buf:
        yield "".join(buf).encode()


def worker_csv(start: int, count: int, subdistricts: list[str], *, prefix: int = 3) -> bytes:
    return b"".join(worker_csv_chunks(start, count, subdistricts, prefix=prefix))
