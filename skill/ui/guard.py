"""What stands in front of the dashboard: HTTP Basic with one password, a login rate limit, CSRF tokens.

No Flask here (the blueprint calls these with plain values), so each part is tested on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

#: Failed logins allowed from one address within ``WINDOW_S``; after that it gets 429 until the window passes.
MAX_FAILURES: Final = 5
WINDOW_S: Final = 60.0
#: Addresses remembered at most (the oldest is forgotten first), so a flood cannot grow memory.
MAX_ADDRESSES: Final = 4096

#: The Content-Security-Policy of every dashboard answer: our own CSS and script only, nothing inline,
#: no frames, forms post only here.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def password_matches(given: str | None, password: str) -> bool:
    """Constant-time comparison of a Basic password with the configured one (any user name)."""
    if given is None:
        return False
    # Compare digests: compare_digest takes the same time for any given length.
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest(),
        hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest(),
    )


class LoginLimiter:
    """Counts failed logins per client address in a sliding window; thread-safe and bounded."""

    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> list[float]:
        stamps = [t for t in self._failures.get(address, []) if now - t < self.window_s]
        if stamps:
            self._failures[address] = stamps
        else:
            self._failures.pop(address, None)
        return stamps

    def retry_after_s(self, address: str) -> int:
        """0 when ``address`` may try to log in; else the seconds until it may again."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(address, now)
            if len(stamps) < self.max_failures:
                return 0
            return max(1, int(self.window_s - (now - stamps[0])) + 1)

    def failed(self, address: str) -> None:
        """Count one failed login from ``address``."""
        with self._lock:
            now = self._clock()
            stamps = self._recent(address, now)
            stamps.append(now)
            self._failures[address] = stamps
            self._failures.move_to_end(address)
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        """A good login clears the address's failures."""
        with self._lock:
            self._failures.pop(address, None)


class CsrfTokens:
    """A token for the POST forms, bound to this process and to the password; checked in constant time."""

    def __init__(self, password: str) -> None:
        key = secrets.token_bytes(32)
        self.token = hmac.new(key, password.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def valid(self, given: str | None) -> bool:
        """True when ``given`` is this process's token."""
        return given is not None and hmac.compare_digest(given.encode("ascii", "replace"), self.token.encode())
