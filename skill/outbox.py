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
                                         have delivered, it is retried all the same)
no credentials for the notifier          rescheduled, WARNING (a restart may bring them)
older than ``max_age_s``                 row deleted, ERROR "notification lost"
=======================================  =============================================

Each attempt is *claimed* before it is made: attempts and the next due time are written
first, so a crash during a send never causes an immediate resend, and two processes on
one file never send the same attempt twice. See docs/reliability.md for the trade-offs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from . import const
from .attachments import Attachment
from .config import Credentials
from .errors import OutboxError, PermanentError, PushoverError, UnknownDeviceError
from .pushover import Message, PushoverClient

logger = logging.getLogger(__name__)

#: Backoff cap between two retries of one notification.
DEFAULT_MAX_RETRY_INTERVAL_S: Final = 300.0
#: Each wait is stretched by up to this fraction, so items queued together spread out.
JITTER_FRACTION: Final = 0.1
#: How long put() waits for another writer's lock; a person is waiting for the answer.
BUSY_TIMEOUT_S: Final = 1.0
#: How much of a lost notification's text the ERROR log shows.
PREVIEW_CHARS: Final = 40

_SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS pending (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    notifier         TEXT    NOT NULL,
    intent           TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    attachment_name  TEXT,
    attachment_type  TEXT,
    attachment       BLOB,
    validate_devices INTEGER NOT NULL,
    created_at       REAL    NOT NULL,
    next_at          REAL    NOT NULL,
    attempts         INTEGER NOT NULL,
    last_error       TEXT
);
CREATE INDEX IF NOT EXISTS pending_next_at ON pending (next_at);
"""
_INSERT: Final = """INSERT INTO pending (id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_SELECT_ALL: Final = """SELECT id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error FROM pending ORDER BY next_at, seq"""
_SELECT_ONE: Final = """SELECT id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error FROM pending WHERE id = ?"""


@dataclass(frozen=True)
class PendingItem:
    """One notification waiting in the outbox."""

    id: str
    notifier: str
    intent: str
    message: Message
    validate_devices: bool
    created_at: float
    next_at: float
    #: Attempts made so far, the service's first one included.
    attempts: int
    last_error: str | None = None


class _Unreadable(Exception):
    """A stored row that no longer decodes into a Message."""


class Outbox:
    """A SQLite-backed queue of notifications to retry, with one background worker."""

    def __init__(
        self,
        path: str,
        client: PushoverClient,
        credentials_for: Callable[[str], Credentials | None],
        *,
        max_age_s: float = const.DEFAULT_OUTBOX_MAX_AGE_S,
        min_interval_s: float = const.MIN_RETRY_INTERVAL_S,
        max_interval_s: float = DEFAULT_MAX_RETRY_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Open (or create) the outbox at ``path``.

        ``min_interval_s`` below 5 s is for tests only: Pushover asks for no faster retries.
        An unusable file is logged, not raised: put() raises OutboxError until it can be opened.
        """
        if min_interval_s <= 0 or max_interval_s < min_interval_s or max_age_s <= 0:
            raise ValueError("need 0 < min_interval_s <= max_interval_s and max_age_s > 0")
        self.path = str(path)
        self.max_age_s = max_age_s
        self.min_interval_s = min_interval_s
        self.max_interval_s = max_interval_s
        self._client = client
        self._credentials_for = credentials_for
        self._clock = clock
        self._random = random.Random()  # noqa: S311 -- jitter, not cryptography
        self._lock = threading.Lock()  # guards the connection
        self._run_lock = threading.Lock()  # one delivery round at a time
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            with self._lock:
                self._connect()
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

    def put(self, notifier: str, message: Message, *, validate_devices: bool = False, intent: str = "") -> str:
        """Store a notification for retry; committed to disk when this returns. Its id.

        Raises OutboxError when the file is locked by another writer or cannot be written.
        """
        item_id = uuid.uuid4().hex
        now = self._clock()
        att = message.attachment
        row = (
            item_id, notifier, intent, _encode(message),
            att.filename if att else None, att.content_type if att else None, att.data if att else None,
            int(validate_devices), now, now + self.min_interval_s, 1, None,
        )  # fmt: skip
        with self._lock:
            conn = self._connect()
            try:
                conn.execute(_INSERT, row)
            except sqlite3.Error as err:
                raise OutboxError(f"cannot store the notification in the outbox {self.path}: {err}") from err
        self._wake.set()
        logger.info("queued notification %s for retry (intent %s, notifier %s)", item_id, intent or "-", notifier)
        return item_id

    def discard_tagged(self, tag: str) -> int:
        """Drop waiting emergency alerts carrying ``tag`` (a cancel by voice); how many were dropped."""
        dropped = 0
        for item in self.pending():
            tags = {t.strip() for t in (item.message.tags or "").split(",")}
            if tag in tags and self._execute("DELETE FROM pending WHERE id = ?", (item.id,)):
                dropped += 1
                logger.info("dropped queued alert %s: canceled by tag %s", item.id, tag)
        return dropped

    # -- inspection --------------------------------------------------------

    def depth(self) -> int:
        """How many notifications are waiting."""
        (count,) = self._query_one("SELECT COUNT(*) FROM pending")
        return int(count)

    def oldest_age_s(self) -> float | None:
        """Seconds since the oldest waiting notification was queued; None when none waits."""
        (created,) = self._query_one("SELECT MIN(created_at) FROM pending")
        return None if created is None else max(0.0, self._clock() - created)

    def next_due(self) -> float | None:
        """When (on the outbox's clock) the next retry is due; None when nothing waits."""
        (due,) = self._query_one("SELECT MIN(next_at) FROM pending")
        return None if due is None else float(due)

    def pending(self) -> list[PendingItem]:
        """Every waiting notification, the next due first."""
        with self._lock:
            conn = self._connect()
            try:
                rows = conn.execute(_SELECT_ALL).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read the outbox {self.path}: {err}") from err
        items = []
        for row in rows:
            try:
                items.append(_decode(row))
            except _Unreadable:
                continue
        return items

    # -- delivering --------------------------------------------------------

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
        """Stop the worker and wait up to ``timeout`` seconds for it (a send in flight may take that long)."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the outbox worker did not stop within %.1f s", timeout)

    def close(self) -> None:
        """Stop the worker and close the database; waiting notifications stay on disk."""
        self.stop()
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

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
            rows = self._query_all("SELECT id FROM pending WHERE next_at <= ? ORDER BY next_at, seq", (moment,))
            delivered = 0
            for (item_id,) in rows:
                if stopping is not None and stopping.is_set():
                    break
                if self._attempt(item_id, self._clock() if now is None else now):
                    delivered += 1
            return delivered

    def _attempt(self, item_id: str, now: float) -> bool:
        """One try at one item; True when Pushover accepted it."""
        row = self._query_one(_SELECT_ONE, (item_id,), allow_none=True)
        if row is None:
            return False  # delivered or dropped meanwhile (another process on the same file)
        try:
            item = _decode(row)
        except _Unreadable as err:
            self._delete(item_id)
            logger.error("notification lost: outbox item %s cannot be read (%s); dropped", item_id, err)
            return False
        if now - item.created_at > self.max_age_s:
            self._delete(item.id)
            logger.error(
                "notification lost: intent %s, %r: not delivered within %.0f s (%d attempts; last error: %s)",
                item.intent or "-", _preview(item.message), self.max_age_s, item.attempts, item.last_error or "-",
            )  # fmt: skip
            return False
        if item.next_at > now or not self._claim(item, now):
            return False
        try:
            creds = self._credentials_for(item.notifier)
        except KeyError:  # the notifier is no longer in the intent map
            creds = None
        if creds is None:
            self._note_failure(item.id, f"no credentials for notifier {item.notifier!r}")
            logger.warning("outbox: notifier %r has no credentials; item %s waits", item.notifier, item.id)
            return False
        message = item.message
        try:
            if item.validate_devices:
                devices = self._client.resolve_devices(creds, message.devices)
                if not devices:
                    raise UnknownDeviceError(",".join(message.devices), [])  # never broadcast to every device
                message = dataclasses.replace(message, devices=devices)
                self._store_checked(item.id, message)
            result = self._client.send(message, creds)
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
        except PushoverError as err:  # transient: the claim already scheduled the next attempt
            self._note_failure(item.id, str(err))
            logger.warning("outbox: retry %d of item %s failed: %s", item.attempts, item.id, err)
            return False
        self._delete(item.id)
        logger.info(
            "delivered queued notification %s (intent %s) on attempt %d, %.0f s after it was queued; pushover=%s",
            item.id, item.intent or "-", item.attempts + 1, now - item.created_at, result.request_id or "-",
        )  # fmt: skip
        return True

    def _claim(self, item: PendingItem, now: float) -> bool:
        """Record the attempt and schedule the next one before sending; False if someone else did."""
        attempts = item.attempts + 1
        next_at = now + self._backoff_s(attempts)
        deadline = item.created_at + self.max_age_s
        if next_at > deadline:
            next_at = max(deadline, now + self.min_interval_s)
        claimed = self._execute(
            "UPDATE pending SET attempts = ?, next_at = ? WHERE id = ? AND attempts = ?",
            (attempts, next_at, item.id, item.attempts),
        )
        return claimed == 1

    def _backoff_s(self, attempts: int) -> float:
        """The wait after ``attempts`` tries: 5, 10, 20 … s, capped, plus a little jitter."""
        base = min(self.max_interval_s, self.min_interval_s * 2 ** min(attempts - 1, 30))
        return min(self.max_interval_s, base * (1 + JITTER_FRACTION * self._random.random()))

    def _store_checked(self, item_id: str, message: Message) -> None:
        self._execute("UPDATE pending SET message = ?, validate_devices = 0 WHERE id = ?", (_encode(message), item_id))

    def _note_failure(self, item_id: str, error: str) -> None:
        self._execute("UPDATE pending SET last_error = ? WHERE id = ?", (error[:500], item_id))

    def _delete(self, item_id: str) -> None:
        self._execute("DELETE FROM pending WHERE id = ?", (item_id,))

    # -- SQLite ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The open connection, opening it on first use; the caller holds ``_lock``."""
        if self._conn is not None:
            return self._conn
        if self._closed:
            raise OutboxError("the outbox is closed")
        conn = None
        try:
            # Autocommit: every statement is its own transaction, durable when execute() returns.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            conn.execute("PRAGMA synchronous = FULL")
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version > _SCHEMA_VERSION:
                raise OutboxError(f"the outbox {self.path} was written by a newer version (schema {version})")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except (sqlite3.Error, OutboxError) as err:
            if conn is not None:
                conn.close()
            if isinstance(err, OutboxError):
                raise
            raise OutboxError(f"cannot open the outbox {self.path}: {err}") from err
        if str(mode).lower() != "wal":
            logger.warning("the outbox %s is not in WAL mode (%s); writes are slower", self.path, mode)
        self._conn = conn
        return conn

    def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).rowcount
            except sqlite3.Error as err:
                raise OutboxError(f"cannot update the outbox {self.path}: {err}") from err

    def _query_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read the outbox {self.path}: {err}") from err

    def _query_one(self, sql: str, params: tuple[Any, ...] = (), *, allow_none: bool = False) -> Any:
        with self._lock:
            conn = self._connect()
            try:
                row = conn.execute(sql, params).fetchone()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read the outbox {self.path}: {err}") from err
        if row is None and not allow_none:
            raise OutboxError(f"the outbox {self.path} returned nothing")
        return row


_MESSAGE_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Message) if f.name != "attachment")


def _encode(message: Message) -> str:
    """The message's fields, attachment aside, as JSON."""
    data = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    data["devices"] = list(message.devices)
    return json.dumps(data, ensure_ascii=False)


def _decode(row: tuple[Any, ...]) -> PendingItem:
    (item_id, notifier, intent, text, att_name, att_type, att_data, validate, created, next_at, attempts, error) = row
    try:
        data = json.loads(text)
        # Fields a later version dropped are ignored; fields it added take their defaults.
        fields = {name: data[name] for name in _MESSAGE_FIELDS if name in data}
        fields["devices"] = tuple(fields.get("devices") or ())
        attachment = None
        if att_data is not None:
            attachment = Attachment(att_name or "attachment", att_type or "", bytes(att_data))
        message = Message(**fields, attachment=attachment)
    except (ValueError, TypeError) as err:
        raise _Unreadable(type(err).__name__) from err
    return PendingItem(
        str(item_id), str(notifier), str(intent), message, bool(validate), float(created), float(next_at),
        int(attempts), error,
    )  # fmt: skip


def _preview(message: Message) -> str:
    return message.message[:PREVIEW_CHARS]
