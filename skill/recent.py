"""The last requests the web service answered, kept in memory for the dashboard (no Flask here)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

#: How many requests the dashboard shows.
MAX_RECENT: Final = 100


@dataclass(frozen=True)
class RecentRequest:
    """One answered (or refused) request; slot values only when the owner asked to see them."""

    at: float
    source: str  # "alexa", "try it (dry run)", "try it (sent)"
    request_type: str
    intent: str
    outcome: str
    http_status: int
    ms: float
    pushover_ids: tuple[str, ...] = ()
    slots: Mapping[str, str] | None = field(default=None)

    @property
    def time_text(self) -> str:
        """Local wall-clock time, to the second."""
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.at))


class RecentRequests:
    """A thread-safe ring of the last ``limit`` requests, newest first when read."""

    def __init__(self, limit: int = MAX_RECENT) -> None:
        self._items: deque[RecentRequest] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, item: RecentRequest) -> None:
        """Remember one request (the oldest falls out beyond the limit)."""
        with self._lock:
            self._items.append(item)

    def newest_first(self) -> list[RecentRequest]:
        """Every remembered request, the newest first."""
        with self._lock:
            return list(reversed(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
