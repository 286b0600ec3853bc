"""Images: the type from the bytes (never a name or Content-Type), and a safe file name to send them under."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True)
class Attachment:
    """An image ready to send as the multipart ``attachment`` part."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


#: Enough leading bytes for :func:`sniff_image_type` to decide.
SNIFF_BYTES: Final = 64

_UNSAFE_FILENAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_FILENAME_CHARS = 100

_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/tiff": "tiff",
}
_IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".gif", ".webp", ".bmp", ".heic", ".heif", ".hif", ".tif", ".tiff"}
)

#: ISO BMFF brands, https://github.com/strukturag/libheif/blob/master/libheif/heif.h (heif_brand2)
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
#: DIB header sizes a real BMP carries at offset 14 ("BM" alone is too common in text).
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})


def sniff_image_type(data: bytes) -> str | None:
    """Content type from magic bytes: image/png, image/jpeg, image/gif, image/webp, image/bmp,
    image/heic/heif (ftyp brands), image/tiff; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith(b"BM") and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_DIB_SIZES:
        return "image/bmp"
    if data[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    return None


def _sniff_ftyp(data: bytes) -> str | None:
    major = data[8:12]
    if major in _HEIC_BRANDS:
        return "image/heic"
    if major not in _HEIF_BRANDS:
        return None  # mp4, mov, avif, …
    box_end = min(int.from_bytes(data[0:4], "big"), len(data))
    compatible = {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    return "image/heic" if compatible & _HEIC_BRANDS else "image/heif"


def safe_filename(raw: str, content_type: str, default_stem: str) -> str:
    """A safe multipart file name; an image suffix is added when the name lacks one."""
    name = _UNSAFE_FILENAME_RE.sub("_", raw).strip("._-")
    ext = _EXTENSIONS[content_type]
    if not name:
        return f"{default_stem}.{ext}"
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in _IMAGE_SUFFIXES:
        stem, suffix = name, f".{ext}"
    return stem[: _MAX_FILENAME_CHARS - len(suffix)] + suffix
