"""Small HTTP helpers shared by the routers."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response
from otog_shared.etag import etag_for
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def with_etag(response: Response, model: M) -> M:
    """A strong ETag from the representation itself: it changes whenever any field does."""
    response.headers["ETag"] = etag_for(model.model_dump_json())
    return model
