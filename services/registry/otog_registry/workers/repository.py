from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import ARRAY, Uuid, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from otog_registry.workers.models import Worker


@dataclass(frozen=True)
class WorkerFilter:
    province: str | None = None
    district: str | None = None
    subdistrict: str | None = None
    ids: list[uuid.UUID] | None = None


# Column order of the rows ``insert_new`` takes.
IMPORT_COLUMNS = (
    "id",
    "national_id_hmac",
    "national_id_encrypted",
    "first_name_th",
    "last_name_th",
    "first_name_en",
    "last_name_en",
    "birth_date",
    "subdistrict_code",
    "district_code",
    "province_code",
    "phone",
    "social_security",
    "pdpa_basis",
    "consent_given_at",
    "version",
    "created_by",
    "created_request_id",
)

_REGISTERED = text(
    "SELECT national_id_hmac FROM workers WHERE national_id_hmac = ANY(CAST(:hmacs AS bytea[]))"
)

# The path taken when another import registers some of the same people between
# the check and the COPY: arrays in, duplicates skipped by the unique index.
# Sorting by the HMAC makes concurrent imports take index locks in one order,
# so they wait for each other but never deadlock.
_INSERT_SKIPPING_DUPLICATES = text(
    f"""
    INSERT INTO workers ({", ".join(IMPORT_COLUMNS)})
    SELECT * FROM unnest(
        CAST(:c0 AS uuid[]), CAST(:c1 AS bytea[]), CAST(:c2 AS bytea[]),
        CAST(:c3 AS text[]), CAST(:c4 AS text[]), CAST(:c5 AS text[]), CAST(:c6 AS text[]),
        CAST(:c7 AS date[]), CAST(:c8 AS text[]), CAST(:c9 AS text[]), CAST(:c10 AS text[]),
        CAST(:c11 AS text[]), CAST(:c12 AS text[]), CAST(:c13 AS text[]),
        CAST(:c14 AS timestamptz[]), CAST(:c15 AS integer[]), CAST(:c16 AS text[]),
        CAST(:c17 AS text[])
    ) AS u({", ".join(IMPORT_COLUMNS)})
    ORDER BY u.national_id_hmac
    ON CONFLICT (national_id_hmac) DO NOTHING
    """  # noqa: S608 - the column names are the constants above
)


class WorkerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_new(self, values: dict[str, Any]) -> Worker | None:
        """Insert, or return None when the person (by HMAC) is already registered."""
        stmt = (
            insert(Worker)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Worker.national_id_hmac])
            .returning(Worker)
        )
        result = await self.session.scalars(stmt, execution_options={"populate_existing": True})
        return result.one_or_none()

    async def get(self, worker_id: uuid.UUID, *, for_update: bool = False) -> Worker | None:
        stmt = select(Worker).where(Worker.id == worker_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def get_by_hmac(self, digest: bytes) -> Worker | None:
        stmt = select(Worker).where(Worker.national_id_hmac == digest)
        return (await self.session.scalars(stmt)).one_or_none()

    async def get_many(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Worker]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Worker).where(Worker.id.in_(ids)))
        return {w.id: w for w in rows}

    async def find(
        self, filters: WorkerFilter, *, after: uuid.UUID | None, limit: int
    ) -> list[Worker]:
        stmt = select(Worker).order_by(Worker.id).limit(limit)
        if filters.province:
            stmt = stmt.where(Worker.province_code == filters.province)
        if filters.district:
            stmt = stmt.where(Worker.district_code == filters.district)
        if filters.subdistrict:
            stmt = stmt.where(Worker.subdistrict_code == filters.subdistrict)
        if filters.ids is not None:
            # One array parameter: the same prepared statement for any number of ids.
            stmt = stmt.where(Worker.id == any_(bindparam("ids", filters.ids, type_=ARRAY(Uuid()))))
        if after is not None:
            stmt = stmt.where(Worker.id > after)
        return list((await self.session.scalars(stmt)).all())

    async def insert_new(self, rows: list[tuple[Any, ...]], *, look_up_first: bool = True) -> int:
        """Insert the rows (``IMPORT_COLUMNS`` order) of people not yet registered;
        returns how many were new. The HMAC is the second column.

        COPY is several times cheaper per row than an INSERT, but stops at the
        first duplicate. When duplicates are likely (``look_up_first``: a re-sent
        file), the registered are looked up first and COPY takes the rest; else
        COPY goes straight away. Either way it runs under a savepoint: on a
        conflict (a concurrent import, or an unexpected duplicate) the savepoint
        is rolled back and the batch goes through INSERT … ON CONFLICT DO NOTHING."""
        if not rows:
            return 0
        registered: set[bytes] = set()
        if look_up_first:
            found = await self.session.execute(_REGISTERED, {"hmacs": [row[1] for row in rows]})
            registered = set(found.scalars())
        fresh: dict[bytes, tuple[Any, ...]] = {}
        for row in rows:
            if row[1] not in registered:
                fresh.setdefault(row[1], row)  # the first of duplicates within the batch
        if not fresh:
            return 0
        new_rows = [fresh[digest] for digest in sorted(fresh)]
        connection = await self.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            # The driver's nested transaction is a SAVEPOINT inside the session's.
            async with driver.transaction():
                await driver.copy_records_to_table(
                    "workers", records=new_rows, columns=list(IMPORT_COLUMNS)
                )
            return len(new_rows)
        except asyncpg.UniqueViolationError:
            columns = {f"c{i}": list(col) for i, col in enumerate(zip(*new_rows, strict=True))}
            result = await self.session.execute(_INSERT_SKIPPING_DUPLICATES, columns)
            return int(getattr(result, "rowcount", 0))
