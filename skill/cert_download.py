"""Downloads of Alexa's signing-certificate chains, bounded in time, size and number.

A request names its chain URL itself, so a forged request can name any object under
``https://s3.amazonaws.com/echo.api/`` before its signature can be checked. The bounds here keep
such requests from costing more than a little:

- one download per URL at a time; every request waiting for that URL shares it and gives up with
  it, at most ``deadline_s`` after the download started;
- at most ``max_in_flight`` distinct downloads at once; a request that would start one more is
  refused without a download (the chain of real Alexa traffic is cached, so it never waits here);
- a URL whose download failed (refused, HTTP error, too big, too slow) is remembered for
  ``failure_ttl_s``: requests naming it in that time are refused at once, without a download;
- the default fetcher checks the size cap on every read as bytes arrive, and the total deadline
  after every read, so a server that drips one byte at a time is dropped within about
  ``deadline_s`` plus one read timeout (and the waiting requests already at ``deadline_s``).

Importing this module is cheap: ``requests`` loads on first download.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from .errors import VerificationError

if TYPE_CHECKING:
    import requests

logger = logging.getLogger(__name__)

#: S3 answers in well under a second; Alexa waits about 8 s for the whole request.
CERT_DOWNLOAD_DEADLINE_S: Final = 2.0
#: Amazon's chain is about 5 KB; anything much larger is not a chain.
MAX_CERT_CHAIN_BYTES: Final = 64 * 1024
#: Real traffic uses one URL at a time (two while Amazon rotates its certificate).
MAX_DOWNLOADS_IN_FLIGHT: Final = 4
#: How long a failed URL is refused without a new download.
FAILURE_TTL_S: Final = 30.0
MAX_REMEMBERED_FAILURES: Final = 1024
READ_SIZE_BYTES: Final = 8192

T = TypeVar("T")


class DownloadError(VerificationError):
    """The chain could not be downloaded (refused, HTTP error, too big, too slow): remembered for a while."""


@dataclass
class _Download(Generic[T]):
    future: Future[T] = field(default_factory=Future)
    deadline: float = 0.0  # time.monotonic() at which every waiter gives up


class SharedDownloads(Generic[T]):
    """Runs ``job()`` for a key once at a time in its own thread; callers wait for it with a deadline."""

    def __init__(
        self,
        *,
        deadline_s: float = CERT_DOWNLOAD_DEADLINE_S,
        max_in_flight: int = MAX_DOWNLOADS_IN_FLIGHT,
        failure_ttl_s: float = FAILURE_TTL_S,
        max_failures: int = MAX_REMEMBERED_FAILURES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deadline_s = deadline_s
        self.max_in_flight = max_in_flight
        self.failure_ttl_s = failure_ttl_s
        self._max_failures = max_failures
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, _Download[T]] = {}
        #: key -> (remembered until, by ``clock``; the reason)
        self._failures: OrderedDict[str, tuple[float, str]] = OrderedDict()

    @property
    def in_flight(self) -> int:
        """Downloads running now (including any whose waiters have given up)."""
        with self._lock:
            return len(self._pending)

    def run(self, key: str, job: Callable[[], T]) -> T:
        """Return ``job()``'s result for ``key``, started now or shared with a download already running.

        Raises VerificationError when the key failed recently, when too many downloads run, when
        the download fails, or when it has not finished by its deadline.
        """
        with self._lock:
            remembered = self._failures.get(key)
            if remembered is not None:
                until, reason = remembered
                if self._clock() < until:
                    raise DownloadError(f"{reason} (remembered)")
                del self._failures[key]
            download = self._pending.get(key)
            if download is None:
                if len(self._pending) >= self.max_in_flight:
                    raise VerificationError("too many certificate chain downloads at once")
                download = self._pending[key] = _Download(deadline=time.monotonic() + self.deadline_s)
                thread = threading.Thread(
                    target=self._download, args=(key, job, download), name="skill-cert-download", daemon=True
                )
                thread.start()
        try:
            return download.future.result(timeout=max(0.0, download.deadline - time.monotonic()))
        except FutureTimeout:
            reason = f"could not fetch certificate chain within {self.deadline_s:g} s"
            with self._lock:
                if self._pending.get(key) is download:  # not finished meanwhile
                    self._remember(key, reason)
            raise DownloadError(reason) from None
        except VerificationError as err:  # one exception object per waiter, not one shared traceback
            raise type(err)(str(err)) from err

    def _download(self, key: str, job: Callable[[], T], download: _Download[T]) -> None:
        error: BaseException | None = None
        try:
            result = job()
        except BaseException as err:  # handed to the waiters; this thread only ends
            error = err
        with self._lock:
            del self._pending[key]
            if isinstance(error, DownloadError):
                self._remember(key, str(error))
            elif error is None:
                self._failures.pop(key, None)
        if error is not None:
            download.future.set_exception(error)
        else:
            download.future.set_result(result)

    def _remember(self, key: str, reason: str) -> None:
        """Refuse ``key`` for ``failure_ttl_s``; the oldest memory goes when there are too many (lock held)."""
        self._failures[key] = (self._clock() + self.failure_ttl_s, reason)
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_failures:
            self._failures.popitem(last=False)


def fetch_bounded(
    session: requests.Session,
    url: str,
    *,
    deadline_s: float = CERT_DOWNLOAD_DEADLINE_S,
    max_bytes: int = MAX_CERT_CHAIN_BYTES,
) -> bytes:
    """GET ``url`` (no redirects): HTTP 200 only, at most ``max_bytes``, all of it within about ``deadline_s``.

    Each read returns what has arrived (up to the bytes still allowed), so the cap is checked as
    bytes come in and the deadline after every read; a read waits at most ``deadline_s``.
    """
    started = time.monotonic()
    with session.get(url, timeout=(deadline_s, deadline_s), stream=True, allow_redirects=False) as response:
        if response.status_code != 200:
            raise DownloadError(f"could not fetch certificate chain: HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DownloadError(f"could not fetch certificate chain: over {max_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.raw.read1(min(READ_SIZE_BYTES, max_bytes + 1 - size), decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(f"could not fetch certificate chain: over {max_bytes} bytes")
            chunks.append(chunk)
            if time.monotonic() - started > deadline_s:
                raise DownloadError("could not fetch certificate chain: download too slow")
    return b"".join(chunks)


__all__ = ["DownloadError", "SharedDownloads", "fetch_bounded"]
