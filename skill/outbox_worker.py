"""The delivering half of the outbox (skill.outbox): the background worker and one attempt at an item.

Schedule, outcomes and the claim before each attempt are described in skill.outbox's docstring.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Final

from .config import Credentials
from .errors import OutboxError, PermanentError, PushoverError, TransientError, UnknownDeviceError
from .outbox_db import (
    SELECT_DUE,
    SELECT_NEXT_DUE,
    SELECT_ONE,
    SET_ASIDE,
    OutboxDB,
    PendingItem,
    Unreadable,
    decode,
    encode,
)
from .phrases import counted
from .pushover import Message, PushoverClient, SendResult

# The outbox's log lines keep its name, whichever half writes them.
logger = logging.getLogger("skill.outbox")

#: Each wait is stretched by up to this fraction, so items queued together spread out.
JITTER_FRACTION: Final = 0.1
#: How much of a lost notification's text the ERROR log shows.
PREVIEW_CHARS: Final = 40


class RetryWorker:
    """Retries what is due, in one daemon thread; :class:`~skill.outbox.Outbox` sets these attributes up."""

    max_age_s: float
    min_interval_s: float
    max_interval_s: float
    read_timeout_s: float
    attempt_window_s: float
    on_delivered: Callable[[PendingItem, Message, SendResult], None] | None
    _client: PushoverClient
    _credentials_for: Callable[[str], Credentials | None]
    _clock: Callable[[], float]
    _random: random.Random
    _db: OutboxDB
    _run_lock: threading.Lock
    _wake: threading.Event
    _stopping: threading.Event
    _thread: threading.Thread | None

    def next_due(self) -> float | None:
        """When (on the outbox's clock) the next retry is due; None when nothing waits."""
        (due,) = self._db.query_one(SELECT_NEXT_DUE)
        return None if due is None else float(due)

    def run_once(self, now: float | None = None) -> int:
        """Try every notification that is due at ``now`` (default: the clock); how many were delivered."""
        return self._deliver_due(now, None)

    def start(self) -> None:
        """Start the background worker (one daemon thread); does nothing if it runs."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._work, name="outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker and wait up to ``timeout`` seconds for it.

        A send in flight may take longer; it is left to finish or die with the process, and the
        item, claimed before the send, is tried again after a restart.
        """
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the outbox worker did not stop within %.1f s (a send is in flight)", timeout)

    def _work(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._deliver_due(None, self._stopping)
                due = self.next_due()
            except Exception as err:
                if self._stopping.is_set():
                    break  # closed under a worker that outlived stop()'s timeout
                failures += 1
                if isinstance(err, OutboxError):
                    logger.error("outbox worker: %s", err)
                else:
                    logger.exception("outbox worker failed; trying again later")
                # A broken file backs off like a failed send, so the log is not flooded.
                delay = self._backoff_s(failures)
            else:
                failures = 0
                delay = self.max_interval_s if due is None else max(0.0, due - self._clock())
            # Capped, so a wall-clock jump cannot put the worker to sleep for long.
            self._wake.wait(min(delay, self.max_interval_s))

    def _deliver_due(self, now: float | None, stopping: threading.Event | None) -> int:
        with self._run_lock:
            moment = self._clock() if now is None else now
            rows = self._db.query_all(SELECT_DUE, (moment,))
            delivered = 0
            for (seq,) in rows:
                if stopping is not None and stopping.is_set():
                    break
                if self._attempt(seq, self._clock() if now is None else now):
                    delivered += 1
            return delivered

    def _attempt(self, seq: int, now: float) -> bool:
        """One try at one item; True when Pushover accepted it."""
        row = self._db.query_one(SELECT_ONE, (seq,), allow_none=True)
        if row is None:
            return False  # delivered or dropped meanwhile (another process on the same file)
        try:
            item = decode(row)
        except Unreadable as err:
            self._set_aside(seq, row[1], str(err), now)
            return False
        if now - item.created_at > self.max_age_s:
            self._delete(item.id)
            logger.error(
                "notification lost: intent %s, %r: not delivered within %.0f s (%s; last error: %s)",
                item.intent or "-", _preview(item.message), self.max_age_s, counted(item.attempts, "attempt"),
                item.last_error or "-",
            )  # fmt: skip
            return False
        planned = self._claim(item, now) if item.next_at <= now else None
        if planned is None:
            return False
        try:
            creds = self._credentials_for(item.notifier)
        except KeyError:  # the notifier is no longer in the intent map
            creds = None
        if creds is None:
            self._note_failure(item.id, f"no credentials for notifier {item.notifier!r}", planned)
            logger.warning("outbox: notifier %r has no credentials; item %s waits", item.notifier, item.id)
            return False
        message = item.message
        started = time.monotonic()
        try:
            if item.validate_devices:
                devices = self._client.resolve_devices(creds, message.devices)
                if not devices:
                    raise UnknownDeviceError(",".join(message.devices), [])  # never broadcast to every device
                message = dataclasses.replace(message, devices=devices)
                self._store_checked(item.id, message)
            result = self._client.send(message, creds, read_timeout_s=self.read_timeout_s)
        except UnknownDeviceError as err:
            self._delete(item.id)
            logger.error(
                "queued notification dropped, nothing sent: unknown device %r (intent %s, %r)",
                err.device, item.intent or "-", _preview(message),
            )  # fmt: skip
            return False
        except PermanentError as err:
            self._delete(item.id)
            logger.error(
                "queued notification dropped: Pushover refused it (intent %s, %r): %s",
                item.intent or "-", _preview(message), err,
            )  # fmt: skip
            return False
        except PushoverError as err:
            if isinstance(err, TransientError) and err.maybe_delivered:
                # That attempt may still turn into a delivery: the next one starts no sooner than
                # a full interval after it ended.
                ended = now + (time.monotonic() - started)
                planned = max(planned, ended + self.min_interval_s)
            self._note_failure(item.id, str(err), planned)
            logger.warning("outbox: retry %d of item %s failed: %s", item.attempts, item.id, err)
            return False
        self._delete(item.id)
        logger.info(
            "delivered queued notification %s (intent %s) on attempt %d, %.0f s after it was queued; pushover=%s",
            item.id, item.intent or "-", item.attempts + 1, now - item.created_at, result.request_id or "-",
        )  # fmt: skip
        if self.on_delivered is not None:
            try:
                self.on_delivered(item, message, result)
            except Exception:  # the notification is out; a failing hook must not make it look lost
                logger.exception("outbox: after delivering item %s", item.id)
        return True

    def _claim(self, item: PendingItem, now: float) -> float | None:
        """Record the attempt before sending; when the next one is planned, or None if someone else claimed it.

        Until this attempt ends, the row says "not before the attempt can have ended", so neither a
        crash nor another process on the same file starts the next attempt while this one may
        still reach Pushover.
        """
        attempts = item.attempts + 1
        planned = now + self._backoff_s(attempts)
        deadline = item.created_at + self.max_age_s
        if planned > deadline:
            planned = max(deadline, now + self.min_interval_s)
        claimed = self._db.execute(
            "UPDATE pending SET attempts = ?, next_at = ? WHERE id = ? AND attempts = ?",
            (attempts, max(planned, now + self.attempt_window_s), item.id, item.attempts),
        )
        return planned if claimed == 1 else None

    def _backoff_s(self, attempts: int) -> float:
        """The wait after ``attempts`` tries: 5, 10, 20 … s, capped, plus a little jitter."""
        base = min(self.max_interval_s, self.min_interval_s * 2 ** min(attempts - 1, 30))
        return min(self.max_interval_s, base * (1 + JITTER_FRACTION * self._random.random()))

    def _set_aside(self, seq: int, raw_id: object, reason: str, now: float) -> None:
        """Move an unreadable row out of the queue, keeping every column for a person to look at."""
        with self._db.transaction() as conn:
            conn.execute(SET_ASIDE, (reason, now, seq))
            conn.execute("DELETE FROM pending WHERE seq = ?", (seq,))
        logger.error(
            "outbox item %s (row %d) cannot be read (%s); set aside in table set_aside, not retried",
            str(raw_id)[:40], seq, reason,
        )  # fmt: skip

    def _store_checked(self, item_id: str, message: Message) -> None:
        self._db.execute(
            "UPDATE pending SET message = ?, validate_devices = 0 WHERE id = ?", (encode(message), item_id)
        )

    def _note_failure(self, item_id: str, error: str, next_at: float) -> None:
        self._db.execute("UPDATE pending SET last_error = ?, next_at = ? WHERE id = ?", (error[:500], next_at, item_id))

    def _delete(self, item_id: str) -> None:
        self._db.execute("DELETE FROM pending WHERE id = ?", (item_id,))


def _preview(message: Message) -> str:
    return message.message[:PREVIEW_CHARS]
