"""Refuse a signed Alexa request seen before (a replay) for as long as its timestamp would still be accepted.

Alexa gives every request its own ``request.requestId``. A captured request can be sent again
with its valid signature until ``request.timestamp`` is too old (150 s, an hour for skill
events); within that window the verifier remembers each id it accepted. Memory is bounded: ids
are forgotten when their window ends, and beyond ``max_entries`` the one whose window ends
first goes. Only requests whose signature verified are remembered, so forged requests cannot
fill the memory.
"""

from __future__ import annotations

import heapq
import threading
from typing import Final

from .errors import VerificationError

#: Far more than a household's Alexa sends in an hour; about 10 MB when full.
MAX_REMEMBERED_REQUEST_IDS: Final = 50_000


class ReplayGuard:
    """Remembers accepted request ids until their acceptance window ends; thread-safe."""

    def __init__(self, max_entries: int = MAX_REMEMBERED_REQUEST_IDS) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}
        self._expiry: list[tuple[float, str]] = []  # heap of (until, id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._until)

    def check(self, request_id: str, until: float, now: float) -> None:
        """Remember ``request_id`` until ``until`` (epoch s); raise VerificationError if it is remembered already."""
        with self._lock:
            self._forget(lambda when: when < now)
            if request_id in self._until:
                raise VerificationError("request.requestId was seen before: a replayed request")
            if len(self._until) >= self.max_entries:
                self._forget(lambda when: True, count=len(self._until) - self.max_entries + 1)
            self._until[request_id] = until
            heapq.heappush(self._expiry, (until, request_id))

    def _forget(self, due: object, count: int | None = None) -> None:
        """Drop entries from the earliest ``until`` on while ``due(until)`` (at most ``count``); lock held."""
        dropped = 0
        while self._expiry and due(self._expiry[0][0]) and (count is None or dropped < count):  # type: ignore[operator]
            until, request_id = heapq.heappop(self._expiry)
            if self._until.get(request_id) == until:
                del self._until[request_id]
                dropped += 1


__all__ = ["MAX_REMEMBERED_REQUEST_IDS", "ReplayGuard"]
