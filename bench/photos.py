"""Photo uploads: throughput of phone-sized photos, and the registry's peak memory
while 20 photos of 8 MB arrive at once (the body is spooled to disk as it streams;
decoding is limited to a few at a time per process)."""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

from PIL import Image

from bench.harness import Bench
from bench.loadgen import Request
from bench.scenarios import OCCUPATIONS, subdistricts

PHONE_PHOTO_BYTES = 2 * 1024 * 1024
BIG_PHOTO_BYTES = 8 * 1024 * 1024


def jpeg_of_about(target: int, seed: int) -> bytes:
    """A JPEG of about ``target`` bytes: noise, which JPEG cannot shrink, so the
    size follows from the pixel count (and the decode costs what a photo's does)."""
    rng = random.Random(seed)  # noqa: S311 (test pixels, not secrets)
    bytes_per_pixel = 1.0
    for _ in range(2):  # one correction of the first estimate is close enough
        pixels = int(target / bytes_per_pixel)
        width = int((pixels * 4 / 3) ** 0.5)
        height = pixels // width
        noise = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        out = io.BytesIO()
        noise.save(out, "JPEG", quality=92)
        bytes_per_pixel = len(out.getvalue()) / (width * height)
    return out.getvalue()


async def photos(bench: Bench) -> None:
    tiny = bench.sizes.token_requests < 100
    uploads = 8 if tiny else 60
    big = 4 if tiny else 20
    places = await subdistricts(bench, "15")
    group = await bench.call(
        "POST",
        "/v1/groups",
        json={
            "name_th": "กลุ่มถ่ายภาพสินค้า",
            "subdistrict_code": places[0],
            "occupation": OCCUPATIONS[0],
        },
    )
    product = await bench.call(
        "POST", f"/v1/groups/{group['id']}/products", json={"name_th": "ตะกร้าสาน"}
    )
    base = f"/v1/products/{product['id']}/photos"
    headers = {"Content-Type": "image/jpeg"}

    phone = jpeg_of_about(PHONE_PHOTO_BYTES, 1)
    bench.log(f"photos: {uploads} uploads of {len(phone) / 1e6:.1f} MB, 10 at once")
    step = await bench.measure(
        "photos",
        f"upload a {len(phone) / 1e6:.1f} MB photo",
        [Request("PUT", f"{base}/{uuid.uuid4()}", phone, headers) for _ in range(uploads)],
        concurrency=10,
        expected=[201],
        note="PUT /v1/products/{id}/photos/{photo_id}: spool, decode, re-encode, thumbnail, "
        "two objects to SeaweedFS, one row",
    )
    step.data["megabytes_per_second"] = round(
        len(phone) * uploads / 1e6 / max(step.data["seconds"], 1e-9), 1
    )

    large = jpeg_of_about(BIG_PHOTO_BYTES, 2)
    with Image.open(io.BytesIO(large)) as probe:
        megapixels = probe.width * probe.height / 1e6
    bench.log(f"photos: {big} photos of {len(large) / 1e6:.1f} MB ({megapixels:.1f} MP) at once")
    step = await bench.measure(
        "photos",
        f"{big} photos of {len(large) / 1e6:.1f} MB at once",
        [Request("PUT", f"{base}/{uuid.uuid4()}", large, headers) for _ in range(big)],
        concurrency=big,
        expected=[201],
        note=f"{megapixels:.1f} megapixels each; the registry's peak RSS per process is "
        "VmHWM from /proc, reset before the step",
    )
    registry: dict[str, Any] = step.data["services"].get("registry", {})
    peaks = registry.get("peak_rss_mb", [])
    step.data["registry_peak_rss_mb_max"] = max(peaks) if peaks else None
    step.data["megabytes_per_second"] = round(
        len(large) * big / 1e6 / max(step.data["seconds"], 1e-9), 1
    )
    bench.log(
        f"  photos: registry peak RSS per process {peaks} MB while {big} photos of "
        f"{len(large) / 1e6:.1f} MB arrived; {step.data['megabytes_per_second']} MB/s"
    )
    bench.check(
        "photos",
        "every upload stored",
        step.data["errors"] == 0,
        step.data["statuses"],
    )
