"""What is kept of an emergency alert, and the interface every receipt store offers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

#: Status answers look at alerts sent within this window ("There's no recent alert" beyond it).
RECENT_S: Final = 24 * 3600.0
#: Receipts older than this are pruned (the SQLite store on write, DynamoDB by its TTL attribute).
KEEP_S: Final = 7 * 24 * 3600.0
#: How many of the newest receipts a status or open-alerts question reads.
RECENT_LIMIT: Final = 20


class AlertState(StrEnum):
    """Where an emergency alert stands; the first that applies wins, in this order."""

    ACKNOWLEDGED = "acknowledged"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    OPEN = "open"


@dataclass(frozen=True)
class Receipt:
    """One emergency (priority 2) send: Pushover's receipt, what sent it, and what became of it.

    ``acknowledged_by`` is the person's *name* (from the map's ``people:``), never a user key:
    the key Pushover reports is looked up when the acknowledgement is recorded and then dropped.
    """

    receipt: str
    intent: str
    tags: tuple[str, ...]
    notifier: str
    #: The devices the alert went to (empty: every device of the user or group key).
    devices: tuple[str, ...]
    sent_at: float
    retry: int
    expire: int
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    acknowledged_device: str | None = None
    #: Pushover said the alert expired (a receipt poll); ``expires_at`` passing says the same.
    expired: bool = False
    cancelled_at: float | None = None

    @property
    def expires_at(self) -> float:
        """When Pushover stops repeating the alert."""
        return self.sent_at + self.expire

    def state(self, now: float) -> AlertState:
        """Acknowledged, cancelled, expired or still open at ``now``."""
        if self.acknowledged_at is not None:
            return AlertState.ACKNOWLEDGED
        if self.cancelled_at is not None:
            return AlertState.CANCELLED
        if self.expired or now >= self.expires_at:
            return AlertState.EXPIRED
        return AlertState.OPEN

    def replace(self, **changes: object) -> Receipt:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


class ReceiptStore(Protocol):
    """Where receipts are kept: SQLite for the web service, DynamoDB for Lambda.

    Every method raises :class:`~skill.errors.ReceiptError` when the store cannot be used; the
    updates are conditional, so a repeated callback or a race between two processes changes
    a receipt once.
    """

    def add(self, receipt: Receipt) -> None:
        """Keep a newly sent alert (a receipt already kept is replaced)."""
        ...

    def get(self, receipt: str) -> Receipt | None:
        """One receipt by its id, or None."""
        ...

    def recent(self, since: float, *, intent: str | None = None, limit: int = RECENT_LIMIT) -> list[Receipt]:
        """Receipts sent at or after ``since`` (of ``intent`` only, if given), the newest first."""
        ...

    def acknowledge(self, receipt: str, at: float, by: str | None, device: str | None) -> bool:
        """Record the first acknowledgement; False when the receipt is unknown or already acknowledged."""
        ...

    def mark_expired(self, receipt: str) -> bool:
        """Record that the alert expired unacknowledged; False when nothing changed."""
        ...

    def mark_cancelled(self, receipt: str, at: float) -> bool:
        """Record a cancel of a still-open alert; False when it was not open."""
        ...

    def prune(self, before: float) -> int:
        """Forget receipts sent before ``before``; how many were removed."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
