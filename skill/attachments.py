"""Attachments: local files inside allowed directories, URLs from allowed hosts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attachment:
    """An image ready to send as the multipart ``attachment`` part."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Attachment({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"
