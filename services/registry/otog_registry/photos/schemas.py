from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from otog_registry.photos.models import Photo

PHOTO_EXAMPLE: dict[str, JsonValue] = {
    "id": "0196a1c2-3d4e-7f50-8a6b-7c8d9e0f1a2b",
    "url": "/v1/photos/0196a1c2-3d4e-7f50-8a6b-7c8d9e0f1a2b",
    "thumb_url": "/v1/photos/0196a1c2-3d4e-7f50-8a6b-7c8d9e0f1a2b?size=thumb",
    "media_type": "image/jpeg",
    "width": 3024,
    "height": 4032,
    "bytes": 1843211,
    "created_at": "2025-04-10T16:25:00+07:00",
}


class PhotoOut(BaseModel):
    """A stored photo: re-encoded without metadata, with a 320 px thumbnail."""

    model_config = ConfigDict(json_schema_extra={"examples": [PHOTO_EXAMPLE]})

    id: uuid.UUID = Field(description="The id the client chose when it uploaded the photo.")
    url: str = Field(description="The image (`GET`), relative to the API's base.")
    thumb_url: str = Field(description="The thumbnail, 320 px on the long side.")
    media_type: str = Field(description="`image/jpeg`, `image/png` or `image/webp`.")
    width: int = Field(description="Of the served image, orientation applied.")
    height: int
    bytes: int = Field(description="Size of the served image.")
    created_at: datetime


def photo_out(photo: Photo) -> PhotoOut:
    url = f"/v1/photos/{photo.id}"
    return PhotoOut(
        id=photo.id,
        url=url,
        thumb_url=f"{url}?size=thumb",
        media_type=photo.media_type,
        width=photo.width,
        height=photo.height,
        bytes=photo.bytes,
        created_at=photo.created_at,
    )
