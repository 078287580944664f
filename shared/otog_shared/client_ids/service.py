"""Remembering client-chosen ids, and answering a re-send.

The create's transaction first takes a PostgreSQL advisory lock on the id and
waits for it: a second create with the same id, sent while the first is still
running, waits for the first to commit (then finds its row) or to fail (then
creates). So two concurrent creates make one resource, and the other gets the
first's answer, or 409 if it said something else. Unlike an ``Idempotency-Key``
in flight there is nothing for the client to do but wait: the answer it needs is
the one being made.

A found id gives the stored first answer when the same owner sent the same
content to the same create; anything else is one and the same 409, which says
only that the id is taken. A caller cannot tell "other content" from "another
kind of resource" or "someone else's": an id the caller did not create reveals
nothing about what it names, nor who made it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from otog_shared.client_ids.errors import IdConflict
from otog_shared.client_ids.models import created_resources
from otog_shared.idempotency.sealing import (
    Sealer,
    StoredAnswerUnreadable,
    read_body,
    record_context,
    store_body,
)

CONFLICT_DETAIL = (
    "This id is already taken by another resource or another request; "
    "send this new content with a new id."
)


def id_conflict() -> IdConflict:
    return IdConflict(CONFLICT_DETAIL)


def refuse_taken_id(exc: IntegrityError) -> None:
    """409 id-conflict if the insert failed on a primary key: the id the client chose
    names a row made without one (a server-made id). For services that turn their
    own unique violations into problems of their own: call it first."""
    seen: BaseException | None = exc.orig
    while seen is not None:
        if isinstance(seen, asyncpg.UniqueViolationError):
            if (seen.constraint_name or "").startswith("pk_"):
                raise id_conflict() from exc
            return
        seen = seen.__cause__


@dataclass(frozen=True)
class CreatedAnswer:
    status: int
    body: str
    location: str | None
    etag: str | None


@dataclass(frozen=True)
class CreateRequest:
    """A create sent with a client-chosen id, as the table compares it."""

    id: uuid.UUID
    kind: str
    owner: str
    body_sha256: str


def _context(create: CreateRequest) -> bytes:
    return record_context("created_resources", str(create.id), create.kind, create.owner)


class ClientIdService:
    def __init__(self, session: AsyncSession, sealer: Sealer | None = None) -> None:
        self.session = session
        # Seals stored answers (otog_shared.idempotency.sealing); None keeps them as sent.
        self.sealer = sealer

    async def claim(self, create: CreateRequest) -> CreatedAnswer | None:
        """Hold the id for this transaction; the first answer if it was used before
        for the same create, else None (the create may run)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock_key, 0))"),
            {"lock_key": f"client-id\x1f{create.id}"},
        )
        t = created_resources.c
        row = (
            await self.session.execute(
                select(
                    t.kind,
                    t.owner,
                    t.body_sha256,
                    t.response_status,
                    t.response_body,
                    t.location,
                    t.etag,
                ).where(t.id == create.id)
            )
        ).one_or_none()
        if row is None:
            return None
        if (row.kind, row.owner, row.body_sha256) != (
            create.kind,
            create.owner,
            create.body_sha256,
        ):
            raise id_conflict()
        try:
            body = read_body(self.sealer, row.response_body, _context(create))
        except StoredAnswerUnreadable as exc:
            # A body moved here from another row, or one no key opens: the id is taken
            # and its answer is nobody's to see. The resource itself can still be read.
            raise id_conflict() from exc
        return CreatedAnswer(row.response_status, body, row.location, row.etag)

    async def record(self, create: CreateRequest, answer: CreatedAnswer) -> None:
        # The advisory lock is held: no other transaction can insert this id now.
        await self.session.execute(
            insert(created_resources).values(
                id=create.id,
                kind=create.kind,
                owner=create.owner,
                body_sha256=create.body_sha256,
                response_status=answer.status,
                response_body=store_body(self.sealer, answer.body, _context(create)),
                location=answer.location,
                etag=answer.etag,
            )
        )
