"""The durable outbox: notifications that failed transiently wait in SQLite for a retry.

:meth:`Outbox.put` stores the whole :class:`~skill.pushover.Message` (attachment bytes
included) and the notifier's *name* — never a token or user key; those are looked up
with ``credentials_for(notifier)`` each time an item is sent. The row is committed
(WAL, ``synchronous=FULL``) before ``put()`` returns, so it survives a restart and
``kill -9``. A single daemon thread (:meth:`Outbox.start`) delivers what is due.

Schedule: the first retry comes ``min_interval_s`` (5 s) after ``put()``; each further
one waits twice as long (5, 10, 20, 40 … capped at ``max_interval_s``, 5 min), stretched
by up to 10 % of jitter but never shorter than ``min_interval_s``. The last attempt falls
on the item's maximum age; after that the item is dropped and an ERROR says it was lost.

Outcome of a retry:

=======================================  =============================================
what happened                            what the outbox does
=======================================  =============================================
delivered                                row deleted, INFO
4xx, 429 (PermanentError)                row deleted, ERROR; never retried
unknown device (devices not yet checked) row deleted, ERROR; nothing sent
5xx, timeout, no connection              rescheduled (at-least-once: a read timeout may
                                         have delivered, it is retried all the same,
                                         but only after that attempt has ended)
no credentials for the notifier          rescheduled, WARNING (a restart may bring them)
a row that cannot be decoded             moved to the ``set_aside`` table, ERROR with its id;
                                         never retried, never in the way of the others
older than ``max_age_s``                 row deleted, ERROR "notification lost"
=======================================  =============================================

Each attempt is *claimed* before it is made: attempts and the next due time are written
first, and that time lies beyond the longest the attempt can take (connect plus the
background read timeout, ``const.BACKGROUND_READ_TIMEOUT_S``), so a crash during a send
never causes an early resend, and two processes on one file never overlap. Nobody waits for
a background attempt, so it waits up to a minute for Pushover's answer: a slow Pushover that
accepts a message after 5 or 30 s answers the first retry, which ends the item.

An item the service is still trying itself (it answered Alexa before Pushover answered it) is
put with ``hold_s``: the outbox leaves it alone that long; :meth:`Outbox.settle` removes it
when that attempt got through, :meth:`Outbox.release` hands it over when it failed. See
docs/reliability.md for the trade-offs and the bound on copies.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Final

from . import const
from .config import Credentials
from .errors import OutboxError
from .outbox_db import (
    BUSY_TIMEOUT_S,
    INSERT,
    SELECT_ALL,
    SELECT_OLDEST,
    OutboxDB,
    PendingItem,
    Unreadable,
    decode,
    encode,
)
from .outbox_worker import JITTER_FRACTION, RetryWorker
from .pushover import Message, PushoverClient, SendResult

__all__ = ["BUSY_TIMEOUT_S", "JITTER_FRACTION", "Outbox", "PendingItem"]

logger = logging.getLogger(__name__)

#: Backoff cap between two retries of one notification.
DEFAULT_MAX_RETRY_INTERVAL_S: Final = 300.0
#: A request's own first attempt ends within Alexa's ~8 s answer window; "retry now" waits this long after queuing.
FIRST_ATTEMPT_WINDOW_S: Final = 10.0


class Outbox(RetryWorker):
    """A SQLite-backed queue of notifications to retry, with one background worker (its half: RetryWorker)."""

    def __init__(
        self,
        path: str,
        client: PushoverClient,
        credentials_for: Callable[[str], Credentials | None],
        *,
        max_age_s: float = const.DEFAULT_OUTBOX_MAX_AGE_S,
        min_interval_s: float = const.MIN_RETRY_INTERVAL_S,
        max_interval_s: float = DEFAULT_MAX_RETRY_INTERVAL_S,
        read_timeout_s: float = const.BACKGROUND_READ_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Open (or create) the outbox at ``path``.

        ``min_interval_s`` below 5 s is for tests only: Pushover asks for no faster retries.
        ``read_timeout_s`` is how long a background send waits for Pushover's answer.
        An unusable file is logged, not raised: put() raises OutboxError until it can be opened.
        """
        if min_interval_s <= 0 or max_interval_s < min_interval_s or max_age_s <= 0 or read_timeout_s <= 0:
            raise ValueError("need 0 < min_interval_s <= max_interval_s, max_age_s > 0 and read_timeout_s > 0")
        self.path = str(path)
        self.max_age_s = max_age_s
        self.min_interval_s = min_interval_s
        self.max_interval_s = max_interval_s
        self.read_timeout_s = read_timeout_s
        #: The longest one background attempt can take; the next one never starts sooner.
        self.attempt_window_s = client.connect_timeout_s + read_timeout_s + 1.0
        self._client = client
        self._credentials_for = credentials_for
        self._clock = clock
        self._random = random.Random()  # noqa: S311 -- jitter, not cryptography
        self._db = OutboxDB(self.path)
        self._run_lock = threading.Lock()  # one delivery round at a time
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Called after a queued notification was delivered (the web service keeps emergency receipts here).
        self.on_delivered: Callable[[PendingItem, Message, SendResult], None] | None = None
        try:
            self._db.open()
        except OutboxError as err:
            logger.error("%s; failed notifications cannot be queued until it is fixed", err)

    def __repr__(self) -> str:
        return f"Outbox({self.path!r}, max_age_s={self.max_age_s}, min_interval_s={self.min_interval_s})"

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- storing -----------------------------------------------------------

    def put(
        self, notifier: str, message: Message, *, validate_devices: bool = False, intent: str = "", hold_s: float = 0.0
    ) -> str:
        """Store a notification for retry; committed to disk when this returns. Its id.

        ``hold_s``: an attempt of the caller's may still be in flight; no retry before it has ended.
        Raises OutboxError when the file is locked by another writer or cannot be written.
        """
        item_id = uuid.uuid4().hex
        now = self._clock()
        att = message.attachment
        row = (
            item_id, notifier, intent, encode(message),
            att.filename if att else None, att.content_type if att else None, att.data if att else None,
            int(validate_devices), now, now + max(self.min_interval_s, hold_s), 1, None,
        )  # fmt: skip
        self._db.execute(INSERT, row)
        self._wake.set()
        logger.info("queued notification %s for retry (intent %s, notifier %s)", item_id, intent or "-", notifier)
        return item_id

    def settle(self, item_id: str) -> bool:
        """The caller's own attempt ended the item (delivered or refused): drop it, unless a retry has begun."""
        return self._db.execute("DELETE FROM pending WHERE id = ? AND attempts = 1", (item_id,)) == 1

    def release(self, item_id: str, message: Message | None = None) -> bool:
        """The caller's own attempt failed and has ended: retry from now on (with ``message``, if given)."""
        next_at = self._clock() + self.min_interval_s
        if message is None:
            changed = self._db.execute(
                "UPDATE pending SET next_at = ? WHERE id = ? AND attempts = 1", (next_at, item_id)
            )
        else:
            att = message.attachment
            changed = self._db.execute(
                "UPDATE pending SET next_at = ?, message = ?, attachment_name = ?, attachment_type = ?, "
                "attachment = ? WHERE id = ? AND attempts = 1",
                (next_at, encode(message), att.filename if att else None, att.content_type if att else None,
                 att.data if att else None, item_id),
            )  # fmt: skip
        self._wake.set()
        return changed == 1

    def discard_tagged(self, tag: str) -> int:
        """Drop waiting emergency alerts carrying ``tag`` (a cancel by voice); how many were dropped."""
        dropped = 0
        for item in self.pending():
            tags = {t.strip() for t in (item.message.tags or "").split(",")}
            if tag in tags and self._db.execute("DELETE FROM pending WHERE id = ?", (item.id,)):
                dropped += 1
                logger.info("dropped queued alert %s: canceled by tag %s", item.id, tag)
        return dropped

    def retry_now(self, item_id: str) -> bool:
        """Make a waiting notification due now (the dashboard's "retry now"); False when it is gone.

        Never sooner than ``FIRST_ATTEMPT_WINDOW_S`` after it was queued: the request's own attempt may still
        be on its way to Pushover until then, and a retry beside it could deliver twice. An item put with
        ``hold_s`` (its send was still running when Alexa got the answer) keeps its hold for the same reason;
        that send settles or releases it.
        """
        changed = self._db.execute(
            "UPDATE pending SET next_at = CASE WHEN attempts = 1 AND next_at > created_at + ? THEN next_at "
            "ELSE MIN(next_at, MAX(?, created_at + ?)) END WHERE id = ?",
            (FIRST_ATTEMPT_WINDOW_S, self._clock(), FIRST_ATTEMPT_WINDOW_S, item_id),
        )
        self._wake.set()
        return changed == 1

    def discard(self, item_id: str) -> bool:
        """Drop one waiting notification (the dashboard's "discard"); False when it was already gone."""
        dropped = self._db.execute("DELETE FROM pending WHERE id = ?", (item_id,)) == 1
        if dropped:
            logger.info("dropped queued notification %s: discarded by hand", item_id)
        return dropped

    # -- inspection --------------------------------------------------------

    def depth(self) -> int:
        """How many notifications are waiting (rows not yet found unreadable included)."""
        (count,) = self._db.query_one("SELECT COUNT(*) FROM pending")
        return int(count)

    def set_aside_count(self) -> int:
        """How many rows were set aside because they could not be read."""
        (count,) = self._db.query_one("SELECT COUNT(*) FROM set_aside")
        return int(count)

    def oldest_age_s(self) -> float | None:
        """Seconds since the oldest waiting notification was queued; None when none waits."""
        (created,) = self._db.query_one(SELECT_OLDEST)
        return None if created is None else max(0.0, self._clock() - created)

    def pending(self) -> list[PendingItem]:
        """Every readable waiting notification, the next due first."""
        items = []
        for row in self._db.query_all(SELECT_ALL):
            try:
                items.append(decode(row))
            except Unreadable:
                continue  # set aside by the next delivery round
        return items

    # -- closing (delivering: skill.outbox_worker) ---------------------------

    def close(self) -> None:
        """Stop the worker and close the database; waiting notifications stay on disk."""
        self.stop()
        self._db.close()
