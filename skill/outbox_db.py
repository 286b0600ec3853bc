"""The outbox's SQLite file: schema, one shared connection, and rows <-> :class:`PendingItem`.

Every statement is its own transaction (autocommit, WAL, ``synchronous=FULL``), durable when
it returns; :meth:`OutboxDB.transaction` groups the few that must happen together. A row that
no longer decodes (a column of the wrong type, a message that is not JSON) raises
:class:`Unreadable`; the outbox moves such rows to the ``set_aside`` table, where they keep
every column as stored, for a person to look at.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from .attachments import Attachment
from .errors import OutboxError
from .pushover import Message

logger = logging.getLogger(__name__)

#: How long a write waits for another writer's lock; a person is waiting for the answer.
BUSY_TIMEOUT_S: Final = 1.0

SCHEMA_VERSION: Final = 1
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
CREATE TABLE IF NOT EXISTS set_aside (
    seq INTEGER PRIMARY KEY, id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error, reason TEXT, set_aside_at REAL
);
"""
INSERT: Final = """INSERT INTO pending (id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
SELECT_ALL: Final = """SELECT seq, id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error
    FROM pending ORDER BY next_at, seq"""
SELECT_ONE: Final = """SELECT seq, id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error
    FROM pending WHERE seq = ?"""
#: Rows due at a moment, and rows whose times are not numbers at all (to be set aside).
SELECT_DUE: Final = """SELECT seq FROM pending
    WHERE typeof(next_at) NOT IN ('integer', 'real') OR typeof(created_at) NOT IN ('integer', 'real')
       OR next_at <= ? ORDER BY seq"""
SELECT_NEXT_DUE: Final = "SELECT MIN(next_at) FROM pending WHERE typeof(next_at) IN ('integer', 'real')"
SELECT_OLDEST: Final = "SELECT MIN(created_at) FROM pending WHERE typeof(created_at) IN ('integer', 'real')"
SET_ASIDE: Final = """INSERT OR REPLACE INTO set_aside
    (seq, id, notifier, intent, message, attachment_name, attachment_type, attachment,
     validate_devices, created_at, next_at, attempts, last_error, reason, set_aside_at)
    SELECT seq, id, notifier, intent, message, attachment_name, attachment_type, attachment,
    validate_devices, created_at, next_at, attempts, last_error, ?, ?
    FROM pending WHERE seq = ?"""


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
    #: The row's number in the file (the order items were queued in).
    seq: int = 0


class Unreadable(Exception):
    """A stored row that no longer decodes into a PendingItem; the message says which column."""


class OutboxDB:
    """One SQLite connection shared by the threads of a process, opened on first use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def open(self) -> None:
        """Open the file now (raises OutboxError when it cannot be)."""
        with self._lock:
            self._connect()

    def close(self) -> None:
        """Close the connection; later calls raise OutboxError."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """Run one statement; the number of rows it changed."""
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).rowcount
            except sqlite3.Error as err:
                raise OutboxError(f"cannot update the outbox {self.path}: {err}") from err

    def query_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Every row a query returns."""
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read the outbox {self.path}: {err}") from err

    def query_one(self, sql: str, params: tuple[Any, ...] = (), *, allow_none: bool = False) -> Any:
        """The first row of a query (None only with ``allow_none``)."""
        with self._lock:
            conn = self._connect()
            try:
                row = conn.execute(sql, params).fetchone()
            except sqlite3.Error as err:
                raise OutboxError(f"cannot read the outbox {self.path}: {err}") from err
        if row is None and not allow_none:
            raise OutboxError(f"the outbox {self.path} returned nothing")
        return row

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Statements that commit together or not at all (the connection is held meanwhile)."""
        with self._lock:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                raise OutboxError(f"cannot update the outbox {self.path}: {err}") from err

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
            if version > SCHEMA_VERSION:
                raise OutboxError(f"the outbox {self.path} was written by a newer version (schema {version})")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
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


_MESSAGE_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Message) if f.name != "attachment")


def encode(message: Message) -> str:
    """The message's fields, attachment aside, as JSON."""
    data = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    data["devices"] = list(message.devices)
    return json.dumps(data, ensure_ascii=False)


def decode(row: tuple[Any, ...]) -> PendingItem:
    """A row of ``SELECT seq, COLUMNS``; raises Unreadable naming the first column that does not decode."""
    (seq, item_id, notifier, intent, text, att_name, att_type, att_data, validate, created, next_at, attempts,
     error) = row  # fmt: skip
    column = "message"
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("not an object")
        # Fields a later version dropped are ignored; fields it added take their defaults.
        fields = {name: data[name] for name in _MESSAGE_FIELDS if name in data}
        fields["devices"] = tuple(fields.get("devices") or ())
        column = "attachment"
        attachment = None
        if att_data is not None:
            attachment = Attachment(_text(att_name or "attachment"), _text(att_type or ""), bytes(att_data))
        column = "message"
        message = Message(**fields, attachment=attachment)
        column = "id"
        item_id = _text(item_id)
        column = "notifier"
        notifier = _text(notifier)
        column = "intent"
        intent = _text(intent)
        column = "created_at"
        created = _time(created)
        column = "next_at"
        next_at = _time(next_at)
        column = "attempts"
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise TypeError(type(attempts).__name__)
        column = "validate_devices"
        if validate not in (0, 1):
            raise ValueError(repr(validate)[:20])
        column = "last_error"
        error = None if error is None else _text(error)
    except (ValueError, TypeError, KeyError) as err:
        raise Unreadable(f"{column}: {type(err).__name__}") from err
    return PendingItem(item_id, notifier, intent, message, bool(validate), created, next_at, attempts, error, seq)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(type(value).__name__)
    return value


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(repr(value)[:20])
    return float(value)
