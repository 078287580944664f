"""Small HTTP helpers shared by the routers."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request, Response
from otog_shared.etag import check_if_match, etag_for
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def etag_of(model: BaseModel) -> str:
    """A strong ETag from the representation itself: it changes whenever any field does."""
    return etag_for(model.model_dump_json())


def with_etag(response: Response, model: M) -> M:
    response.headers["ETag"] = etag_of(model)
    return model


def check_current(request: Request, model: BaseModel) -> None:
    """412 unless ``If-Match`` (when sent) names the representation as it is now.

    The caller has locked the row ``model`` was read from, so nothing changes it
    between this check and the write.
    """
    check_if_match(request, etag_of(model))
