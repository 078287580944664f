"""Bulk import of workers from CSV, streamed: bounded memory whatever the file's size.

The body is decoded incrementally, cut into CSV records (a record may span
lines inside quotes), validated row by row, and written in batches
(``WorkerRepository.insert_new``: COPY, or INSERT … ON CONFLICT DO NOTHING on
a conflict), each batch committed on its own through one of the write lanes.
Re-sending a file, or sending it twice at once, creates nobody twice: the
unique HMAC of the national ID decides.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from otog_shared.auth import Principal
from otog_shared.context import client_id_var, request_id_var
from otog_shared.errors import FieldError, UnprocessableEntity
from pydantic import ValidationError

from otog_registry.audit.service import AuditLog
from otog_registry.geography.abolished import unknown_subdistrict_message
from otog_registry.geography.repository import GeographyRepository, Place
from otog_registry.ids import new_ids
from otog_registry.pii.crypto import NationalIdProtector
from otog_registry.workers.plain_rows import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    PlainRowCheck,
    WorkerRow,
)
from otog_registry.workers.repository import WorkerRepository
from otog_registry.workers.schemas import ImportRejection, ImportReport, WorkerCreate

COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS


class RecordSplitter:
    """Cuts decoded text into CSV records with the line number each starts on.

    A newline ends a record only outside quotes; with RFC 4180 quoting (``""``
    inside a quoted field) that is when the record so far holds an even number
    of quote characters, which ``str.count`` tells without a loop per character.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._tail = ""  # text after the last newline seen
        self._parts: list[str] = []  # complete lines of an unfinished (quoted) record
        self._parts_len = 0
        self._odd = False
        self._line = 1  # line number of the next line to start
        self._start = 1  # line the pending record started on
        self._skip = False  # discarding the rest of an overlong line
        self.too_long: list[int] = []  # lines whose record was dropped as too long

    def feed(self, text: str) -> Iterator[tuple[int, str]]:
        if self._skip:
            end = text.find("\n")
            if end < 0:
                return
            text = text[end + 1 :]
            self._line += 1
            self._skip = False
        lines = (self._tail + text).split("\n")
        self._tail = lines.pop()
        for line in lines:
            yield from self._line_done(line)
        if len(self._tail) + self._parts_len > self.max_chars:
            self._drop()
            self._tail = ""
            self._skip = True

    def finish(self) -> Iterator[tuple[int, str]]:
        if self._skip:
            return
        if self._tail or self._parts:
            start = self._start if self._parts else self._line
            self._parts.append(self._tail)
            self._tail = ""
            yield start, "\n".join(self._parts)
            self._parts = []
            self._parts_len = 0

    def _line_done(self, line: str) -> Iterator[tuple[int, str]]:
        if not self._parts:
            self._start = self._line
        self._line += 1
        self._parts.append(line)
        self._parts_len += len(line) + 1
        if line.count('"') % 2:
            self._odd = not self._odd
        if self._parts_len > self.max_chars:
            self._drop()
            return
        if not self._odd:
            record = self._parts[0] if len(self._parts) == 1 else "\n".join(self._parts)
            self._parts = []
            self._parts_len = 0
            yield self._start, record

    def _drop(self) -> None:
        # An overlong record (or an unclosed quote) is refused; reading goes on
        # at the next line so that one bad row does not swallow the file.
        self.too_long.append(self._start if self._parts else self._line)
        self._parts = []
        self._parts_len = 0
        self._odd = False


def _problem(message: str, field_name: str = "body") -> UnprocessableEntity:
    return UnprocessableEntity(message, errors=[FieldError(field=field_name, message=message)])


def model_input(header: list[str], cells: list[str | None]) -> dict[str, str | None]:
    """A row as ``WorkerCreate`` reads it: empty optional cells take the defaults."""
    return {
        name: value
        for name, value in zip(header, cells, strict=True)
        if value is not None or name in REQUIRED_COLUMNS
    }


def parse_header(record: str) -> list[str]:
    try:
        [names] = list(csv.reader([record]))
    except (csv.Error, ValueError) as exc:
        raise _problem("The header row is not valid CSV.") from exc
    names = [n.strip().lower() for n in names]
    unknown = sorted(set(names) - set(COLUMNS))
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    errors = [FieldError(field=f"header.{n}", message="unknown column") for n in unknown]
    errors += [FieldError(field=f"header.{n}", message="required column missing") for n in missing]
    errors += [FieldError(field=f"header.{n}", message="column given twice") for n in duplicated]
    if errors:
        raise UnprocessableEntity(
            "The header row must name the worker fields: "
            + ", ".join(REQUIRED_COLUMNS)
            + " (required) and "
            + ", ".join(OPTIONAL_COLUMNS)
            + " (optional).",
            errors=errors,
        )
    return names


@dataclass(frozen=True)
class WriteLane:
    """One connection the import writes through, a batch per transaction."""

    repository: WorkerRepository
    audit: AuditLog
    commit: Callable[[], Awaitable[None]]


class WorkerImporter:
    """Reads, checks and writes a CSV of workers.

    Batches go round-robin to the ``lanes``, so that with two lanes PostgreSQL
    writes one batch while it also writes another (on two cores, the database's
    share of an import is larger than the parser's). The first lane's session
    is the request's; the final audit record goes through it.
    """

    def __init__(
        self,
        lanes: Sequence[WriteLane],
        geography: GeographyRepository,
        protector: NationalIdProtector,
        *,
        batch_size: int,
        report_limit: int,
        max_record_chars: int,
    ) -> None:
        if not lanes:
            raise ValueError("an import needs at least one lane to write through")
        self.lanes = tuple(lanes)
        self.geography = geography
        self.audit = lanes[0].audit
        self.protector = protector
        self.batch_size = batch_size
        self.report_limit = report_limit
        self.max_record_chars = max_record_chars

    async def run(self, principal: Principal, chunks: AsyncIterator[bytes]) -> ImportReport:
        places = await self.geography.all_places()
        state = _ImportState(self, principal, places)
        try:
            await self._read(state, chunks)
        finally:
            await state.abandon()
        await self.audit.record(
            "worker.import_finished",
            "worker",
            None,
            {
                "rows": state.rows,
                "created": state.created,
                "duplicates": state.duplicates,
                "rejected": state.rejected_count,
            },
        )
        return state.report()

    async def _read(self, state: _ImportState, chunks: AsyncIterator[bytes]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        splitter = RecordSplitter(self.max_record_chars)
        first = True
        async for chunk in chunks:
            text = decoder.decode(chunk)
            if first and text:
                text = text.removeprefix("\ufeff")
                first = False
            await state.take_all(splitter.feed(text))
            state.drain_too_long(splitter)
            # A body already buffered is read without suspending; yielding here
            # lets the write in flight take its result and go on to commit.
            await asyncio.sleep(0)
        await state.take_all(splitter.feed(decoder.decode(b"", final=True)))
        await state.take_all(splitter.finish())
        state.drain_too_long(splitter)
        if state.header is None:
            raise _problem("The file is empty: a header row is required.")
        await state.flush()
        await state.settle()


class _ImportState:
    def __init__(
        self, importer: WorkerImporter, principal: Principal, places: dict[str, Place]
    ) -> None:
        self.importer = importer
        self.principal = principal
        self.places = places
        self.header: list[str] | None = None
        self.plain: PlainRowCheck | None = None
        self.batch: list[tuple[WorkerRow, Place]] = []
        self.created_by = client_id_var.get()
        self.request_id = request_id_var.get()
        self.rows = 0
        self.created = 0
        self.duplicates = 0
        self.rejected_count = 0
        self.rejected: list[ImportRejection] = []
        self.batches = 0
        self._writing: deque[asyncio.Task[None]] = deque()
        self._last_had_duplicates = False

    def reject(self, line: int, errors: list[FieldError]) -> None:
        self.rejected_count += 1
        if len(self.rejected) < self.importer.report_limit:
            self.rejected.append(ImportRejection(line=line, errors=errors))

    def drain_too_long(self, splitter: RecordSplitter) -> None:
        for line in splitter.too_long:
            self.rows += 1
            self.reject(
                line,
                [
                    FieldError(
                        field="row",
                        message=f"longer than {self.importer.max_record_chars} characters "
                        "or an unclosed quote",
                    )
                ],
            )
        splitter.too_long.clear()

    async def take_all(self, records: Iterable[tuple[int, str]]) -> None:
        for line, record in records:
            if self.header is None:
                if record.strip():
                    self.header = parse_header(record)
                    self.plain = PlainRowCheck(self.header, self.places)
                continue
            self.take(line, record)
            if len(self.batch) >= self.importer.batch_size:
                await self.flush()
            elif self._writing and not self.rows % 128:
                # The write in flight makes several round trips; each needs the
                # event loop, which a long stretch of parsing would keep from it.
                await asyncio.sleep(0)

    def take(self, line: int, record: str) -> None:
        stripped = record.rstrip("\r")
        if not stripped.strip():
            return  # blank lines carry no row
        self.rows += 1
        cells = self._cells(line, stripped)
        if cells is None:
            return
        assert self.plain is not None
        row = self.plain.check(cells) or self._validate(line, cells)
        if row is None:
            return
        place = self.places.get(row.subdistrict_code)
        if place is None:
            self.reject(
                line,
                [
                    FieldError(
                        field="subdistrict_code",
                        message=unknown_subdistrict_message(row.subdistrict_code),
                    )
                ],
            )
            return
        if not self.principal.sees_province(place.province_code):
            self.reject(
                line,
                [
                    FieldError(
                        field="subdistrict_code",
                        message="outside the province this client may act in",
                    )
                ],
            )
            return
        self._add(row, place)

    def _cells(self, line: int, record: str) -> list[str | None] | None:
        if "\ufffd" in record:
            self.reject(line, [FieldError(field="row", message="not valid UTF-8")])
            return None
        if "\x00" in record:
            self.reject(line, [FieldError(field="row", message="contains a NUL character")])
            return None
        if '"' in record or "\r" in record:
            try:
                [cells] = list(csv.reader([record]))
            except (csv.Error, ValueError):
                self.reject(line, [FieldError(field="row", message="not valid CSV")])
                return None
        else:
            # Without quotes or carriage returns, CSV is the text between commas.
            cells = record.split(",")
        assert self.header is not None
        if len(cells) != len(self.header):
            self.reject(
                line,
                [
                    FieldError(
                        field="row",
                        message=f"expected {len(self.header)} fields, found {len(cells)}",
                    )
                ],
            )
            return None
        return [cell if cell.strip() else None for cell in cells]

    def _validate(self, line: int, cells: list[str | None]) -> WorkerRow | None:
        assert self.header is not None
        try:
            worker = WorkerCreate.model_validate(model_input(self.header, cells))
        except ValidationError as exc:
            # The messages only: the input (perhaps a national ID) is never echoed.
            self.reject(
                line,
                [
                    FieldError(field=".".join(str(p) for p in e["loc"]) or "row", message=e["msg"])
                    for e in exc.errors()
                ],
            )
            return None
        return WorkerRow.from_model(worker)

    def _add(self, row: WorkerRow, place: Place) -> None:
        self.batch.append((row, place))

    def _stored_rows(self, batch: list[tuple[WorkerRow, Place]]) -> list[tuple[Any, ...]]:
        """The batch in the repository's IMPORT_COLUMNS order. Ids and nonces are
        drawn for the whole batch at once: per row, each was a system call."""
        protector = self.importer.protector
        ids = new_ids(len(batch))
        ciphers = protector.encrypt_many([row.national_id for row, _ in batch])
        lookup_hash = protector.lookup_hash
        created_by, request_id = self.created_by, self.request_id
        return [
            (
                worker_id,
                lookup_hash(row.national_id),
                cipher,
                row.first_name_th,
                row.last_name_th,
                row.first_name_en,
                row.last_name_en,
                row.birth_date,
                place.subdistrict_code,
                place.district_code,
                place.province_code,
                row.phone,
                row.social_security,
                row.pdpa_basis,
                row.consent_given_at,
                1,
                created_by,
                request_id,
            )
            for worker_id, cipher, (row, place) in zip(ids, ciphers, batch, strict=True)
        ]

    async def flush(self) -> None:
        """Hands the batch to the next lane and returns: the next batches are read
        and checked while this one is written, so parsing and PostgreSQL work side
        by side. One write per lane at a time (a lane is one connection)."""
        lanes = self.importer.lanes
        lane_index = self.batches % len(lanes)
        if len(self._writing) == len(lanes):
            await self._writing.popleft()  # the oldest write is this lane's
        if not len(self.batch):
            return
        batch, self.batch = self._stored_rows(self.batch), []
        self.batches += 1
        self._writing.append(
            asyncio.create_task(self._write(lanes[lane_index], batch, self.batches))
        )
        await asyncio.sleep(0)  # let it send the batch now, not at the next read

    async def settle(self) -> None:
        """Waits for the writes in flight; the first failure is the import's."""
        while self._writing:
            await self._writing.popleft()

    async def abandon(self) -> None:
        """After a failure elsewhere: lets writes in flight end before the
        sessions are rolled back, so no connection is used twice at once."""
        while self._writing:
            with contextlib.suppress(Exception):
                await self._writing.popleft()

    async def _write(self, lane: WriteLane, batch: list[tuple[Any, ...]], number: int) -> None:
        size = len(batch)
        created = await lane.repository.insert_new(batch, look_up_first=self._last_had_duplicates)
        # A re-sent file is duplicates throughout; a new one has none or few.
        self._last_had_duplicates = created < size
        self.created += created
        self.duplicates += size - created
        await lane.audit.record(
            "worker.imported",
            "worker",
            None,
            {"batch": number, "rows": size, "created": created, "duplicates": size - created},
        )
        # Each batch is its own transaction: progress survives a dropped
        # connection, and row locks are held for one batch only.
        await lane.commit()

    def report(self) -> ImportReport:
        return ImportReport(
            rows=self.rows,
            created=self.created,
            duplicates=self.duplicates,
            rejected_count=self.rejected_count,
            rejected=sorted(self.rejected, key=lambda r: r.line),
            rejected_truncated=self.rejected_count > len(self.rejected),
        )
