"""Bulk import of workers from CSV, streamed: bounded memory whatever the file's size.

The body is decoded incrementally, cut into CSV records (a record may span
lines inside quotes), validated row by row, and inserted in batches with one
``INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`` per batch, each
batch committed on its own. Re-sending a file, or sending it twice at once,
creates nobody twice: the unique HMAC of the national ID decides.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from otog_shared.auth import Principal
from otog_shared.context import client_id_var, request_id_var
from otog_shared.errors import FieldError, UnprocessableEntity
from pydantic import ValidationError

from otog_registry.audit.service import AuditLog
from otog_registry.geography.abolished import unknown_subdistrict_message
from otog_registry.geography.repository import GeographyRepository, Place
from otog_registry.ids import new_id
from otog_registry.pii.crypto import NationalIdProtector
from otog_registry.workers.repository import WorkerRepository
from otog_registry.workers.schemas import ImportRejection, ImportReport, WorkerCreate

REQUIRED_COLUMNS = (
    "national_id",
    "first_name_th",
    "last_name_th",
    "birth_date",
    "subdistrict_code",
)
OPTIONAL_COLUMNS = (
    "first_name_en",
    "last_name_en",
    "phone",
    "social_security",
    "pdpa_basis",
    "consent_given_at",
)
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


@dataclass
class _Batch:
    ids: list[Any] = field(default_factory=list)
    hmacs: list[bytes] = field(default_factory=list)
    ciphers: list[bytes] = field(default_factory=list)
    first_th: list[str] = field(default_factory=list)
    last_th: list[str] = field(default_factory=list)
    first_en: list[str | None] = field(default_factory=list)
    last_en: list[str | None] = field(default_factory=list)
    births: list[Any] = field(default_factory=list)
    subdistricts: list[str] = field(default_factory=list)
    districts: list[str] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)
    phones: list[str | None] = field(default_factory=list)
    social: list[str] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    consents: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def columns(self) -> dict[str, list[Any]]:
        return dict(vars(self))


def _problem(message: str, field_name: str = "body") -> UnprocessableEntity:
    return UnprocessableEntity(message, errors=[FieldError(field=field_name, message=message)])


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


class WorkerImporter:
    def __init__(
        self,
        repository: WorkerRepository,
        geography: GeographyRepository,
        audit: AuditLog,
        protector: NationalIdProtector,
        *,
        checkpoint: Callable[[], Awaitable[None]],
        batch_size: int,
        report_limit: int,
        max_record_chars: int,
    ) -> None:
        self.repository = repository
        self.geography = geography
        self.audit = audit
        self.protector = protector
        self.checkpoint = checkpoint
        self.batch_size = batch_size
        self.report_limit = report_limit
        self.max_record_chars = max_record_chars

    async def run(self, principal: Principal, chunks: AsyncIterator[bytes]) -> ImportReport:
        places = await self.geography.all_places()
        state = _ImportState(self, principal, places)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        splitter = RecordSplitter(self.max_record_chars)
        first = True
        async for chunk in chunks:
            text = decoder.decode(chunk)
            if first and text:
                text = text.removeprefix("\ufeff")
                first = False
            for line, record in splitter.feed(text):
                await state.take(line, record)
            state.drain_too_long(splitter)
        for line, record in splitter.feed(decoder.decode(b"", final=True)):
            await state.take(line, record)
        for line, record in splitter.finish():
            await state.take(line, record)
        state.drain_too_long(splitter)
        if state.header is None:
            raise _problem("The file is empty: a header row is required.")
        await state.flush()
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


class _ImportState:
    def __init__(
        self, importer: WorkerImporter, principal: Principal, places: dict[str, Place]
    ) -> None:
        self.importer = importer
        self.principal = principal
        self.places = places
        self.header: list[str] | None = None
        self.batch = _Batch()
        self.rows = 0
        self.created = 0
        self.duplicates = 0
        self.rejected_count = 0
        self.rejected: list[ImportRejection] = []
        self.batches = 0

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

    async def take(self, line: int, record: str) -> None:
        if self.header is None:
            if not record.strip():
                return
            self.header = parse_header(record)
            return
        stripped = record.rstrip("\r")
        if not stripped.strip():
            return  # blank lines carry no row
        self.rows += 1
        values = self._fields(line, stripped)
        if values is None:
            return
        worker = self._validate(line, values)
        if worker is None:
            return
        self._add(worker)
        if len(self.batch) >= self.importer.batch_size:
            await self.flush()

    def _fields(self, line: int, record: str) -> dict[str, Any] | None:
        if "\ufffd" in record:
            self.reject(line, [FieldError(field="row", message="not valid UTF-8")])
            return None
        if "\x00" in record:
            self.reject(line, [FieldError(field="row", message="contains a NUL character")])
            return None
        try:
            [cells] = list(csv.reader([record]))
        except (csv.Error, ValueError):
            self.reject(line, [FieldError(field="row", message="not valid CSV")])
            return None
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
        return {
            name: (cell if cell.strip() else None)
            for name, cell in zip(self.header, cells, strict=True)
        }

    def _validate(self, line: int, values: dict[str, Any]) -> WorkerCreate | None:
        # Empty optional cells take the model's defaults.
        present = {k: v for k, v in values.items() if v is not None or k in REQUIRED_COLUMNS}
        try:
            worker = WorkerCreate.model_validate(present)
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
        place = self.places.get(worker.subdistrict_code)
        if place is None:
            self.reject(
                line,
                [
                    FieldError(
                        field="subdistrict_code",
                        message=unknown_subdistrict_message(worker.subdistrict_code),
                    )
                ],
            )
            return None
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
            return None
        return worker

    def _add(self, worker: WorkerCreate) -> None:
        place = self.places[worker.subdistrict_code]
        protector = self.importer.protector
        b = self.batch
        b.ids.append(new_id())
        b.hmacs.append(protector.lookup_hash(worker.national_id))
        b.ciphers.append(protector.encrypt(worker.national_id))
        b.first_th.append(worker.first_name_th)
        b.last_th.append(worker.last_name_th)
        b.first_en.append(worker.first_name_en)
        b.last_en.append(worker.last_name_en)
        b.births.append(worker.birth_date)
        b.subdistricts.append(place.subdistrict_code)
        b.districts.append(place.district_code)
        b.provinces.append(place.province_code)
        b.phones.append(worker.phone)
        b.social.append(worker.social_security.value)
        b.bases.append(worker.pdpa_basis.value)
        b.consents.append(worker.consent_given_at)

    async def flush(self) -> None:
        if not len(self.batch):
            return
        size = len(self.batch)
        created = await self.importer.repository.bulk_insert(
            self.batch.columns(), created_by=client_id_var.get(), request_id=request_id_var.get()
        )
        self.batches += 1
        self.created += created
        self.duplicates += size - created
        await self.importer.audit.record(
            "worker.imported",
            "worker",
            None,
            {"batch": self.batches, "rows": size, "created": created, "duplicates": size - created},
        )
        # Each batch is its own transaction: progress survives a dropped
        # connection, and row locks are held for one batch only.
        await self.importer.checkpoint()
        self.batch = _Batch()

    def report(self) -> ImportReport:
        return ImportReport(
            rows=self.rows,
            created=self.created,
            duplicates=self.duplicates,
            rejected_count=self.rejected_count,
            rejected=sorted(self.rejected, key=lambda r: r.line),
            rejected_truncated=self.rejected_count > len(self.rejected),
        )
