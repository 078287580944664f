"""Photos of products and visits through the real gateway, registry and SeaweedFS:
re-encoding (orientation applied, metadata gone), refusals that store nothing,
re-sends, access rules and caching headers, deletion."""

from __future__ import annotations

import asyncio
import io
import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from otog_devstack.postgres import plain_url
from otog_shared.objectstore import ObjectStore, ObjectStoreSettings
from PIL import ExifTags, Image

from tests.conftest import Stack
from tests.registry.conftest import YAN_SUE
from tests.support.stack import Databases
from tests.support.tokens import TokenFactory

pytestmark = pytest.mark.e2e

RED, BLUE = (220, 20, 20), (20, 20, 220)


def jpeg_with_gps_and_rotation() -> bytes:
    """40×20: red left half, blue right half; EXIF says "rotate 90° clockwise to
    display" (orientation 6) and where it was taken (GPS), plus a comment."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (14.0, 35.0, 22.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (100.0, 27.0, 18.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, comment=b"taken at the group's house")
    return out.getvalue()


def png(size: tuple[int, int] = (30, 30), colour: tuple[int, int, int] = RED) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width``×``height`` (a decompression bomb's
    shape: a few hundred bytes that would decode to gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + width * 3) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest_asyncio.fixture
async def gw(live_stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_stack.gateway_url, timeout=60) as client:
        yield client


@pytest.fixture
def writer(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers("registry:read", "registry:write", province="15")


@pytest.fixture
def store(object_store_env: dict[str, str]) -> ObjectStore:
    return ObjectStore(
        ObjectStoreSettings(
            url=object_store_env["OBJECT_STORE_URL"],
            access_key_id=object_store_env["OBJECT_STORE_ACCESS_KEY_ID"],
            secret_access_key=object_store_env["OBJECT_STORE_SECRET_ACCESS_KEY"],
        )
    )


@pytest_asyncio.fixture
async def group(gw: httpx.AsyncClient, writer: dict[str, str]) -> dict[str, Any]:
    r = await gw.post(
        "/v1/groups",
        json={
            "name_th": "กลุ่มจักสานย่านซื่อ",
            "subdistrict_code": YAN_SUE,
            "occupation": "textiles_weaving",
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest_asyncio.fixture
async def product(
    gw: httpx.AsyncClient, writer: dict[str, str], group: dict[str, Any]
) -> dict[str, Any]:
    r = await gw.post(
        f"/v1/groups/{group['id']}/products",
        json={"name_th": "ตะกร้าสานไม้ไผ่", "price_satang": 35000},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest_asyncio.fixture
async def visit(
    gw: httpx.AsyncClient, writer: dict[str, str], group: dict[str, Any]
) -> dict[str, Any]:
    r = await gw.post(
        f"/v1/groups/{group['id']}/visits",
        json={
            "visited_on": "2025-04-10",
            "progress": "สานตะกร้าได้ 50 ใบต่อเดือน",
            "location": {"lat": 14.5896, "lon": 100.455},
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def photo_row(databases: Databases, photo_id: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(plain_url(databases.live_urls["registry"]))
    try:
        return await conn.fetchrow("SELECT * FROM photos WHERE id = $1", uuid.UUID(photo_id))
    finally:
        await conn.close()


def jpeg_headers(headers: dict[str, str], media_type: str = "image/jpeg") -> dict[str, str]:
    return {**headers, "Content-Type": media_type}


async def test_jpeg_comes_back_upright_without_any_metadata(
    gw: httpx.AsyncClient,
    writer: dict[str, str],
    tokens: TokenFactory,
    group: dict[str, Any],
    visit: dict[str, Any],
) -> None:
    sent = jpeg_with_gps_and_rotation()
    with Image.open(io.BytesIO(sent)) as original:  # the test's own input has them
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert original.getexif()[ExifTags.Base.Orientation] == 6
    photo_id = str(uuid.uuid4())
    r = await gw.put(
        f"/v1/visits/{visit['id']}/photos/{photo_id}", content=sent, headers=jpeg_headers(writer)
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["width"], out["height"], out["media_type"]) == (20, 40, "image/jpeg")

    reader = tokens.headers("registry:read", province="15")
    r = await gw.get(f"/v1/photos/{photo_id}", headers=reader)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert "no-store" in r.headers["cache-control"]
    with Image.open(io.BytesIO(r.content)) as served:
        assert served.size == (20, 40)  # orientation applied: the sides swapped
        rgb = served.convert("RGB")
        top, bottom = rgb.getpixel((10, 5)), rgb.getpixel((10, 35))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[0] > 150 and top[2] < 100  # the red half is now on top
        assert bottom[2] > 150 and bottom[0] < 100
        assert not served.getexif()
        assert "exif" not in served.info and "icc_profile" not in served.info
        assert "comment" not in served.info and "xmp" not in served.info
    assert b"TestPhone" not in r.content and b"GPS" not in r.content

    r = await gw.get(f"/v1/photos/{photo_id}", params={"size": "thumb"}, headers=reader)
    assert r.status_code == 200
    with Image.open(io.BytesIO(r.content)) as thumb:
        assert max(thumb.size) <= 320 and not thumb.getexif()

    # The visit lists its photo and keeps the location the app sent apart from it.
    r = await gw.get(f"/v1/groups/{group['id']}/visits/{visit['id']}", headers=reader)
    assert r.status_code == 200
    assert [p["id"] for p in r.json()["photos"]] == [photo_id]
    assert r.json()["location"] == {"lat": 14.5896, "lon": 100.455}


async def test_visit_photos_are_read_like_the_visit(
    gw: httpx.AsyncClient, writer: dict[str, str], tokens: TokenFactory, visit: dict[str, Any]
) -> None:
    photo_id = str(uuid.uuid4())
    r = await gw.put(
        f"/v1/visits/{visit['id']}/photos/{photo_id}",
        content=png(),
        headers=jpeg_headers(writer, "image/png"),
    )
    assert r.status_code == 201, r.text
    for headers in ({}, tokens.headers("registry:read", province="62")):
        r = await gw.get(f"/v1/photos/{photo_id}", headers=headers)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    # Writing into another province's visit: as missing as reading it.
    r = await gw.put(
        f"/v1/visits/{visit['id']}/photos/{uuid.uuid4()}",
        content=png(),
        headers=jpeg_headers(
            tokens.headers("registry:read", "registry:write", province="62"), "image/png"
        ),
    )
    assert r.status_code == 404
    r = await gw.get(f"/v1/photos/{photo_id}", headers=tokens.headers("registry:read"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"


async def test_product_photos_are_public_cacheable_and_in_the_catalogue(
    gw: httpx.AsyncClient, writer: dict[str, str], product: dict[str, Any]
) -> None:
    photo_id = str(uuid.uuid4())
    r = await gw.put(
        f"/v1/products/{product['id']}/photos/{photo_id}",
        content=png((600, 300)),
        headers=jpeg_headers(writer, "image/png"),
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v1/photos/{photo_id}"

    r = await gw.get(f"/v1/photos/{photo_id}")  # no token
    assert r.status_code == 200
    cache = r.headers["cache-control"]
    assert "public" in cache and "immutable" in cache and "max-age=" in cache
    etag = r.headers["etag"]
    r = await gw.get(f"/v1/photos/{photo_id}", headers={"If-None-Match": etag})
    assert r.status_code == 304 and not r.content
    r = await gw.get(f"/v1/photos/{photo_id}", params={"size": "thumb"})
    assert r.status_code == 200 and r.headers["etag"] != etag
    with Image.open(io.BytesIO(r.content)) as thumb:
        assert thumb.size == (320, 160)

    r = await gw.get(f"/v1/products/{product['id']}", headers=writer)
    assert [p["id"] for p in r.json()["photos"]] == [photo_id]
    r = await gw.get("/v1/catalog/products", params={"province": "15", "limit": 200})
    listed = {p["id"]: p for p in r.json()["items"]}
    photos = listed[product["id"]]["photos"]
    assert photos[0]["url"] == f"/v1/photos/{photo_id}"
    assert photos[0]["thumb_url"] == f"/v1/photos/{photo_id}?size=thumb"


async def test_same_bytes_again_is_200_other_bytes_are_409(
    gw: httpx.AsyncClient,
    writer: dict[str, str],
    product: dict[str, Any],
    visit: dict[str, Any],
    databases: Databases,
) -> None:
    photo_id = str(uuid.uuid4())
    path = f"/v1/products/{product['id']}/photos/{photo_id}"
    sent = jpeg_with_gps_and_rotation()
    first = await gw.put(path, content=sent, headers=jpeg_headers(writer))
    assert first.status_code == 201
    again = await gw.put(path, content=sent, headers=jpeg_headers(writer))
    assert again.status_code == 200 and again.json() == first.json()

    other = await gw.put(path, content=png(), headers=jpeg_headers(writer, "image/png"))
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/id-conflict"
    elsewhere = await gw.put(
        f"/v1/visits/{visit['id']}/photos/{photo_id}", content=sent, headers=jpeg_headers(writer)
    )
    assert elsewhere.status_code == 409
    row = await photo_row(databases, photo_id)
    assert row is not None and row["product_id"] == uuid.UUID(product["id"])


@pytest.mark.parametrize(
    ("name", "body", "media_type"),
    [
        ("bomb", png_declaring(20_000, 20_000), "image/png"),
        ("over 40 MP", png_declaring(7_000, 6_000), "image/png"),
        ("not an image", b"%PDF-1.7 this is no photo" * 40, "image/jpeg"),
        ("outside the allow-list", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/png"),
        ("truncated", jpeg_with_gps_and_rotation()[:300], "image/jpeg"),
    ],
)
async def test_refused_bodies_store_nothing(
    gw: httpx.AsyncClient,
    writer: dict[str, str],
    product: dict[str, Any],
    databases: Databases,
    store: ObjectStore,
    name: str,
    body: bytes,
    media_type: str,
) -> None:
    photo_id = str(uuid.uuid4())
    r = await gw.put(
        f"/v1/products/{product['id']}/photos/{photo_id}",
        content=body,
        headers=jpeg_headers(writer, media_type),
    )
    assert r.status_code == 422, (name, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]
    assert await photo_row(databases, photo_id) is None
    assert await store.keys(f"photos/{photo_id}/") == []


async def test_wrong_content_type_and_oversized_bodies(
    gw: httpx.AsyncClient, writer: dict[str, str], product: dict[str, Any], databases: Databases
) -> None:
    path = f"/v1/products/{product['id']}/photos/{uuid.uuid4()}"
    r = await gw.put(path, content=png(), headers=jpeg_headers(writer, "text/plain"))
    assert r.status_code == 415
    assert r.json()["type"] == "/problems/unsupported-media-type"

    # Chunked, so that no Content-Length tells the gateway: the registry stops reading
    # one byte past 10 MB.
    async def too_big() -> AsyncIterator[bytes]:
        block = b"\xff" * (1024 * 1024)
        for _ in range(10):
            yield block
        yield b"\x00"

    r = await gw.put(path, content=too_big(), headers=jpeg_headers(writer))
    assert r.status_code == 413, r.text
    assert r.json()["type"] == "/problems/payload-too-large"
    assert await photo_row(databases, path.rsplit("/", 1)[1]) is None


async def test_delete_removes_the_photo_and_its_objects(
    gw: httpx.AsyncClient,
    writer: dict[str, str],
    product: dict[str, Any],
    store: ObjectStore,
) -> None:
    photo_id = str(uuid.uuid4())
    path = f"/v1/products/{product['id']}/photos/{photo_id}"
    r = await gw.put(path, content=png(), headers=jpeg_headers(writer, "image/png"))
    assert r.status_code == 201
    assert len(await store.keys(f"photos/{photo_id}/")) == 2

    assert (await gw.delete(path, headers=writer)).status_code == 204
    assert (await gw.get(f"/v1/photos/{photo_id}")).status_code == 404
    assert (await gw.delete(path, headers=writer)).status_code == 404
    r = await gw.get(f"/v1/products/{product['id']}", headers=writer)
    assert r.json()["photos"] == []
    # The objects go once the delete has committed (after the answer).
    for _ in range(50):
        if not await store.keys(f"photos/{photo_id}/"):
            break
        await asyncio.sleep(0.1)
    assert await store.keys(f"photos/{photo_id}/") == []

    # The id may be used again, with other bytes, once the photo is gone.
    r = await gw.put(path, content=png(colour=BLUE), headers=jpeg_headers(writer, "image/png"))
    assert r.status_code == 201


async def _sync_to_end(
    gw: httpx.AsyncClient, collection: str, headers: dict[str, str], cursor: str | None
) -> tuple[dict[str, Any], str]:
    """Every item after `cursor`, by id (the latest wins), and the cursor at the end."""
    items: dict[str, Any] = {}
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = await gw.get(f"/v1/sync/{collection}", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        items.update({item["id"]: item for item in page["items"]})
        cursor = page["next_cursor"]
        if page["complete"]:
            return items, cursor


async def test_a_photo_added_or_deleted_is_a_change_of_its_product_and_visit_for_sync(
    gw: httpx.AsyncClient,
    writer: dict[str, str],
    product: dict[str, Any],
    visit: dict[str, Any],
) -> None:
    _, products_cursor = await _sync_to_end(gw, "products", writer, None)
    _, visits_cursor = await _sync_to_end(gw, "visits", writer, None)
    product_photo, visit_photo = str(uuid.uuid4()), str(uuid.uuid4())
    product_path = f"/v1/products/{product['id']}/photos/{product_photo}"
    visit_path = f"/v1/visits/{visit['id']}/photos/{visit_photo}"
    for path in (product_path, visit_path):
        r = await gw.put(path, content=png(), headers=jpeg_headers(writer, "image/png"))
        assert r.status_code == 201, r.text

    changed, products_cursor = await _sync_to_end(gw, "products", writer, products_cursor)
    assert [p["id"] for p in changed[product["id"]]["data"]["photos"]] == [product_photo]
    changed, visits_cursor = await _sync_to_end(gw, "visits", writer, visits_cursor)
    assert [p["id"] for p in changed[visit["id"]]["data"]["photos"]] == [visit_photo]

    assert (await gw.delete(product_path, headers=writer)).status_code == 204
    assert (await gw.delete(visit_path, headers=writer)).status_code == 204
    changed, _ = await _sync_to_end(gw, "products", writer, products_cursor)
    assert changed[product["id"]]["data"]["photos"] == []
    changed, _ = await _sync_to_end(gw, "visits", writer, visits_cursor)
    assert changed[visit["id"]]["data"]["photos"] == []
