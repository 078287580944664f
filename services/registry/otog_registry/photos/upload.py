"""A photo's request body, spooled to a temporary file as it arrives.

The body is never held whole in memory: past ``IN_MEMORY_BYTES`` the spool moves
to disk, and one byte past the limit ends the upload without reading the rest."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Final

from otog_shared.errors import ProblemError

MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
IN_MEMORY_BYTES: Final = 256 * 1024


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload Too Large"


@dataclass
class Spooled:
    file: IO[bytes]
    size: int
    sha256: str

    def close(self) -> None:
        self.file.close()


async def spool(chunks: AsyncIterator[bytes], limit: int = MAX_UPLOAD_BYTES) -> Spooled:
    digest = hashlib.sha256()
    size = 0
    file = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"A photo may have at most {limit // (1024 * 1024)} MB.",
                    detail_th=f"รูปภาพต้องมีขนาดไม่เกิน {limit // (1024 * 1024)} MB",
                    max_bytes=limit,
                )
            digest.update(chunk)
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return Spooled(file, size, digest.hexdigest())
