"""Decoding, checking and re-encoding uploaded photos with Pillow.

Nothing of the uploaded file is served as it came: the pixels are decoded, the
orientation flag applied, colours converted to sRGB, and a new file written from
the pixels alone. EXIF (GPS above all), XMP, IPTC, ICC profiles and comments are
therefore gone, whatever block they were hidden in.

JPEG stays JPEG (quality 85) and WebP stays WebP (quality 85): both are photographs
and their size matters on a phone connection. PNG stays PNG: it carries
transparency and drawings (labels, packaging artwork) that a lossy format would
smear, and it is re-encoded losslessly.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import IO, Final

from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

MAX_PIXELS: Final = 40_000_000
THUMB_LONG_SIDE: Final = 320
QUALITY: Final = 85

# Pillow's bomb check: a warning above MAX_IMAGE_PIXELS, an error above twice that.
# Both are refusals here (the explicit check in ``decode`` comes first anyway; this
# covers every frame and code path Pillow itself opens).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

# Pillow format name → the media type served, for the allow-list.
FORMATS: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MEDIA_TYPES: Final = frozenset(FORMATS.values())
EXTENSIONS: Final = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageRefused(Exception):
    """The bytes are not a photo this service takes; the message says why."""

    def __init__(self, detail: str, detail_th: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_th = detail_th


@dataclass(frozen=True)
class Encoded:
    media_type: str
    width: int
    height: int
    full: bytes
    thumb: bytes


def reencode(source: IO[bytes]) -> Encoded:
    """Decode ``source`` and write it anew without metadata, plus a thumbnail.
    CPU- and memory-heavy: call it in a worker thread, a few at a time. Each
    intermediate image is released as soon as the next exists, so that one upload
    holds about two copies of its pixels at most."""
    decoded = _decode(source)
    fmt = decoded.format or ""
    try:
        image = _upright_srgb(decoded, fmt)
    except _BROKEN as exc:  # damaged EXIF found past the first decode
        decoded.close()
        raise _damaged() from exc
    if image is not decoded:
        decoded.close()
    try:
        full = _encode(image, fmt)
        scale = THUMB_LONG_SIDE / max(image.width, image.height)
        size = (
            (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            if scale < 1
            else image.size
        )
        # reducing_gap: a cheap box reduction first, then Lanczos on a small image.
        with image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) as thumb_image:
            thumb = _encode(thumb_image, fmt)
        return Encoded(FORMATS[fmt], image.width, image.height, full, thumb)
    except _BROKEN as exc:
        raise _damaged() from exc
    finally:
        image.close()


def _decode(source: IO[bytes]) -> Image.Image:
    try:
        # ``formats`` makes Pillow try only the allowed decoders: the format is
        # recognised from the bytes, never taken from the Content-Type.
        image = Image.open(source, formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        raise ImageRefused(
            "The body is not a JPEG, PNG or WebP image.",
            "ไฟล์ที่ส่งไม่ใช่รูปภาพ JPEG, PNG หรือ WebP",
        ) from exc
    except _BROKEN as exc:
        raise _damaged() from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise _too_many_pixels()
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        image.close()
        raise _too_many_pixels() from exc
    except _BROKEN as exc:
        image.close()
        raise _damaged() from exc
    return image


# What Pillow raises on damaged or truncated data, depending on where it notices.
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError)


def _damaged() -> ImageRefused:
    return ImageRefused(
        "The image is damaged or incomplete and cannot be decoded.",
        "รูปภาพเสียหายหรือไม่ครบถ้วน อ่านไม่ได้",
    )


def _too_many_pixels() -> ImageRefused:
    return ImageRefused(
        f"The image has more than {MAX_PIXELS // 1_000_000} megapixels.",
        f"รูปภาพมีความละเอียดเกิน {MAX_PIXELS // 1_000_000} ล้านพิกเซล",
    )


def _upright_srgb(image: Image.Image, fmt: str) -> Image.Image:
    """The pixels turned upright, in sRGB, in the mode the encoder takes: ``image``
    itself when nothing needs changing, else a new image (intermediates closed)."""
    icc = image.info.get("icc_profile")
    current = image

    def step(new: Image.Image) -> None:
        nonlocal current
        if current is not image:
            current.close()
        current = new

    if image.getexif().get(ExifTags.Base.Orientation, 1) not in (0, 1):
        step(ImageOps.exif_transpose(image))
    keep_alpha = fmt in ("PNG", "WEBP") and (
        current.mode in ("RGBA", "LA", "PA") or "transparency" in current.info
    )
    target = "RGBA" if keep_alpha else "RGB"
    if current.mode in ("L", "I;16", "I", "F") and not keep_alpha and fmt != "WEBP":
        target = "L"
    if icc and current.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                current, profile, _SRGB, outputMode="RGBA" if current.mode == "RGBA" else "RGB"
            )
            if converted is not None:
                step(converted)
        except (ImageCms.PyCMSError, OSError, ValueError):
            # A broken profile: the pixels are used as they are, taken for sRGB.
            pass
    if current.mode != target:
        step(current.convert(target))
    # Nothing of the source's info dictionary (exif, icc_profile, xmp, comment, dpi…)
    # may reach the encoder.
    current.info = {}
    return current


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        # No optimize=True: its second Huffman pass keeps every DCT coefficient of the
        # image in memory (as much again as the decoded pixels) for ~5% smaller files.
        image.save(out, "JPEG", quality=QUALITY, exif=b"", icc_profile=None)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=QUALITY, method=4, exif=b"", icc_profile=None)
    else:
        image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()
