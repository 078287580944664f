"""``GET /v1/sync/{collection}``: one typed operation per collection, built the same way
in every service from its :class:`~otog_shared.sync.service.SyncCollection` list."""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations,
# which name the collection being added, at runtime.
import typing
import uuid
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, Query, Response, Security
from pydantic import BaseModel, ConfigDict, Field

from otog_shared.auth import Principal, authenticate
from otog_shared.db import DbSession
from otog_shared.errors import problem_responses
from otog_shared.sync.service import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SyncCollection,
    encode_sync_cursor,
    read_sync_page,
)

T = TypeVar("T", bound=BaseModel)

CURSOR_LIFETIME = (
    "Cursors live at least 30 days: a cursor older than the oldest change still kept "
    "answers 410 `/problems/resync-required`, and the device syncs again without one."
)

SYNC_TAG: dict[str, str] = {
    "name": "sync",
    "description": (
        "Delta sync for apps that keep a local copy of their area and work offline: "
        "`GET /v1/sync/{collection}` for `workers`, `groups`, `members`, `products`, "
        "`visits`, `market-links`, `sessions`, `enrollments` and `loans`. The first sync "
        "pages through everything the caller may see; later ones, from the last "
        "`next_cursor`, get only what changed, removals as tombstones. " + CURSOR_LIFETIME
    ),
}


class SyncEntry(BaseModel, Generic[T]):
    """An entity as it is now (`deleted: false`) or a tombstone (`deleted: true`,
    `data: null`): removed, ended, cancelled or moved out of the caller's province."""

    id: uuid.UUID
    deleted: bool
    data: T | None = Field(description="The same representation the collection's GET returns.")


def _data_examples(cls: type[Any]) -> list[Any]:
    """The examples of the entity model inside ``SyncPage[X]``."""
    field = cls.model_fields.get("items") if issubclass(cls, BaseModel) else None
    args = typing.get_args(field.annotation) if field is not None else ()
    entry = args[0] if args else None
    if not (isinstance(entry, type) and issubclass(entry, BaseModel)):
        return []
    data = entry.model_fields["data"]
    for model in typing.get_args(data.annotation):
        if isinstance(model, type) and issubclass(model, BaseModel):
            extra = model.model_config.get("json_schema_extra")
            examples = extra.get("examples") if isinstance(extra, dict) else None
            return examples if isinstance(examples, list) else []
    return []


def _sync_page_examples(schema: dict[str, Any], cls: type[Any]) -> None:
    """A page with an entity (the model's own example) and a tombstone."""
    examples = _data_examples(cls)
    if not examples:
        return
    data = examples[0]
    schema["examples"] = [
        {
            "items": [
                {"id": data.get("id"), "deleted": False, "data": data},
                {"id": "01a250a9-cbd9-7511-809f-eb8ebe904b24", "deleted": True, "data": None},
            ],
            "next_cursor": encode_sync_cursor("groups", "15", 4711, 4711),
            "complete": True,
        }
    ]


class SyncPage(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_sync_page_examples)

    items: list[SyncEntry[T]]
    next_cursor: str = Field(
        description="Pass as `cursor` for the next page, and after the last page, keep it "
        "for the next sync. " + CURSOR_LIFETIME
    )
    complete: bool = Field(
        description="True when this page reached the end: the caller is up to date."
    )


def add_sync_routes(router: APIRouter, collections: list[SyncCollection[Any]]) -> None:
    for collection in collections:
        _add_route(router, collection)


def _add_route(router: APIRouter, collection: SyncCollection[T]) -> None:
    page_model = SyncPage[collection.model]  # type: ignore[name-defined]
    entry_model = SyncEntry[collection.model]  # type: ignore[name-defined]

    async def sync(
        session: DbSession,
        principal: Annotated[Principal, Security(authenticate, scopes=[collection.scope])],
        load: Annotated[Any, Depends(collection.loader)],
        cursor: Annotated[
            str | None,
            Query(
                max_length=512,
                description="The `next_cursor` of the previous page or sync; none for everything.",
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        province: Annotated[
            str | None,
            Query(
                pattern=r"^[0-9]{2}$",
                examples=["15"],
                description="For national callers: one province only.",
            ),
        ] = None,
    ) -> Response:
        result = await read_sync_page(
            session, principal, collection.name, load, cursor=cursor, limit=limit, province=province
        )
        page = page_model(
            items=[
                entry_model(id=item.id, deleted=item.deleted, data=item.data)
                for item in result.items
            ],
            next_cursor=result.next_cursor,
            complete=result.complete,
        )
        # Built from validated models already: serialised once, not validated again
        # on the way out (a page holds up to a thousand entities).
        return Response(content=page.model_dump_json(), media_type="application/json")

    router.add_api_route(
        f"/v1/sync/{collection.name}",
        sync,
        methods=["GET"],
        name=f"sync_{collection.name.replace('-', '_')}",
        summary=f"Sync {collection.name.replace('-', ' ')}",
        description=(
            f"{collection.description}\n\n"
            "Without `cursor`: every entity the caller may see, a page at a time "
            f"(`limit`, default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); follow "
            "`next_cursor` until `complete` is true. With the last `next_cursor`: only "
            "what changed since, removals as tombstones (`deleted: true`). A change that "
            "commits while a device syncs is never skipped: it is in this sync or the "
            "next. A caller bound to a province syncs only that province; national "
            f"callers all, or one with `province`. {CURSOR_LIFETIME} A cursor of another "
            "collection or province, or a malformed one, is 422, as for every list."
        ),
        response_model=page_model,
        responses=problem_responses(401, 403, 410, 422),
        tags=["sync"],
    )
