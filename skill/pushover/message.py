"""What goes over the wire and what comes back: Message, SendResult, Quota, ReceiptStatus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ..attachments import Attachment

#: A WARNING is logged when fewer than this fraction of the monthly messages is left.
QUOTA_WARNING_FRACTION: Final = 0.10


@dataclass(frozen=True)
class Quota:
    """The application's monthly message quota, from the ``X-Limit-App-*`` headers."""

    limit: int | None
    remaining: int | None
    reset: int | None

    @property
    def low(self) -> bool:
        """True when less than ``QUOTA_WARNING_FRACTION`` of the limit is left."""
        if not self.limit or self.remaining is None:
            return False
        return self.remaining < self.limit * QUOTA_WARNING_FRACTION


@dataclass(frozen=True)
class SendResult:
    """What Pushover answered to a sent message."""

    request_id: str | None
    receipt: str | None
    quota: Quota | None


@dataclass(frozen=True)
class ReceiptStatus:
    """An emergency alert as ``receipts/{receipt}.json`` describes it; ``acknowledged_by`` is a user key."""

    acknowledged: bool
    acknowledged_at: int | None
    acknowledged_by: str | None = field(repr=False)
    acknowledged_device: str | None
    expired: bool
    expires_at: int | None


@dataclass
class Message:
    """A rendered notification, ready for the wire.

    Not frozen, though nothing changes one once made (``dataclasses.replace`` makes the next): every
    request builds one, and a frozen dataclass of 16 fields takes five times as long to build.
    """

    message: str
    title: str | None = None
    devices: tuple[str, ...] = ()
    sound: str | None = None
    url: str | None = None
    url_title: str | None = None
    priority: int | None = None
    retry: int | None = None
    expire: int | None = None
    ttl: int | None = None
    timestamp: int | None = None
    html: bool = False
    monospace: bool = False
    callback: str | None = None
    tags: str | None = None
    attachment: Attachment | None = None

    def to_form(self) -> dict[str, str]:
        """The set fields as Pushover's form parameters (unset and empty ones left out)."""
        form = {"message": self.message}
        optional: dict[str, object] = {
            "title": self.title,
            "device": ",".join(self.devices),
            "sound": self.sound,
            "url": self.url,
            "url_title": self.url_title,
            "priority": self.priority,
            "retry": self.retry,
            "expire": self.expire,
            "ttl": self.ttl,
            "timestamp": self.timestamp,
            "html": 1 if self.html else None,
            "monospace": 1 if self.monospace else None,
            "callback": self.callback,
            "tags": self.tags,
        }
        form.update({name: str(value) for name, value in optional.items() if value is not None and value != ""})
        return form


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None
