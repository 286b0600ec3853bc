"""The web service's receipt store: a ``receipts`` table in the outbox's SQLite file (``OUTBOX_PATH``).

The table lives beside the outbox's ``pending`` table and leaves the outbox's schema version
alone. The same file keeps the installation's callback secret (``skill_secrets``), so a restart
keeps the callback URL that Pushover was given for alerts still running.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from typing import Any, Final

from ..errors import ReceiptError
from .model import RECENT_LIMIT, Receipt

#: How long a write waits for another writer's lock (the outbox's worker shares the file).
BUSY_TIMEOUT_S: Final = 1.0
#: Bytes of randomness in the callback secret (43 URL-safe characters).
SECRET_BYTES: Final = 32

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt             TEXT PRIMARY KEY,
    intent              TEXT NOT NULL,
    tags                TEXT NOT NULL,
    notifier            TEXT NOT NULL,
    devices             TEXT NOT NULL,
    sent_at             REAL NOT NULL,
    retry               INTEGER NOT NULL,
    expire              INTEGER NOT NULL,
    acknowledged_at     REAL,
    acknowledged_by     TEXT,
    acknowledged_device TEXT,
    expired             INTEGER NOT NULL DEFAULT 0,
    cancelled_at        REAL
);
CREATE INDEX IF NOT EXISTS receipts_sent_at ON receipts (intent, sent_at);
CREATE TABLE IF NOT EXISTS skill_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_SELECT: Final = """SELECT receipt, intent, tags, notifier, devices, sent_at, retry, expire, acknowledged_at,
    acknowledged_by, acknowledged_device, expired, cancelled_at FROM receipts"""
_INSERT: Final = """INSERT OR REPLACE INTO receipts (receipt, intent, tags, notifier, devices, sent_at, retry, expire,
    acknowledged_at, acknowledged_by, acknowledged_device, expired, cancelled_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_ONE: Final = _SELECT + " WHERE receipt = ?"
_RECENT: Final = _SELECT + " WHERE sent_at >= ? ORDER BY sent_at DESC LIMIT ?"
_RECENT_OF: Final = _SELECT + " WHERE intent = ? AND sent_at >= ? ORDER BY sent_at DESC LIMIT ?"


class SqliteReceiptStore:
    """Receipts in SQLite (WAL, autocommit); one connection shared by the server's threads."""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteReceiptStore({self.path!r})"

    def add(self, receipt: Receipt) -> None:
        """Keep a newly sent alert."""
        row = (
            receipt.receipt, receipt.intent, ",".join(receipt.tags), receipt.notifier, ",".join(receipt.devices),
            receipt.sent_at, receipt.retry, receipt.expire, receipt.acknowledged_at, receipt.acknowledged_by,
            receipt.acknowledged_device, int(receipt.expired), receipt.cancelled_at,
        )  # fmt: skip
        self._execute(_INSERT, row)

    def get(self, receipt: str) -> Receipt | None:
        """One receipt by its id, or None."""
        rows = self._query(_ONE, (receipt,))
        return _decode(rows[0]) if rows else None

    def recent(self, since: float, *, intent: str | None = None, limit: int = RECENT_LIMIT) -> list[Receipt]:
        """Receipts sent at or after ``since``, the newest first."""
        if intent is None:
            rows = self._query(_RECENT, (since, limit))
        else:
            rows = self._query(_RECENT_OF, (intent, since, limit))
        return [_decode(row) for row in rows]

    def acknowledge(self, receipt: str, at: float, by: str | None, device: str | None) -> bool:
        """Record the first acknowledgement only."""
        sql = (
            "UPDATE receipts SET acknowledged_at = ?, acknowledged_by = ?, acknowledged_device = ? "
            "WHERE receipt = ? AND acknowledged_at IS NULL"
        )
        return self._execute(sql, (at, by, device, receipt)) == 1

    def mark_expired(self, receipt: str) -> bool:
        """Record an expiry without acknowledgement."""
        sql = "UPDATE receipts SET expired = 1 WHERE receipt = ? AND expired = 0 AND acknowledged_at IS NULL"
        return self._execute(sql, (receipt,)) == 1

    def mark_cancelled(self, receipt: str, at: float) -> bool:
        """Record a cancel of an alert nobody has acknowledged, cancelled or let expire yet."""
        sql = (
            "UPDATE receipts SET cancelled_at = ? WHERE receipt = ? AND acknowledged_at IS NULL "
            "AND cancelled_at IS NULL AND expired = 0 AND sent_at + expire > ?"
        )
        return self._execute(sql, (at, receipt, at)) == 1

    def prune(self, before: float) -> int:
        """Forget receipts sent before ``before``."""
        return self._execute("DELETE FROM receipts WHERE sent_at < ?", (before,))

    def installation_secret(self) -> str:
        """The callback secret of this installation, made once and kept in the file."""
        fresh = secrets.token_urlsafe(SECRET_BYTES)
        self._execute("INSERT OR IGNORE INTO skill_secrets (name, value) VALUES ('callback', ?)", (fresh,))
        (row,) = self._query("SELECT value FROM skill_secrets WHERE name = 'callback'", ())
        return str(row[0])

    def close(self) -> None:
        """Close the connection (it opens again on the next use)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- SQLite

    def _connect(self) -> sqlite3.Connection:
        """The open connection; the caller holds ``_lock``."""
        if self._conn is not None:
            return self._conn
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.executescript(_SCHEMA)
        except sqlite3.Error as err:
            if conn is not None:
                conn.close()
            raise ReceiptError(f"cannot open the receipt store {self.path}: {err}") from err
        self._conn = conn
        return conn

    def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).rowcount
            except sqlite3.Error as err:
                raise ReceiptError(f"cannot write the receipt store {self.path}: {err}") from err

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._connect()
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise ReceiptError(f"cannot read the receipt store {self.path}: {err}") from err


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _decode(row: tuple[Any, ...]) -> Receipt:
    (receipt, intent, tags, notifier, devices, sent_at, retry, expire, ack_at, ack_by, ack_device, expired,
     cancelled_at) = row  # fmt: skip
    return Receipt(
        str(receipt), str(intent), _split(tags), str(notifier), _split(devices), float(sent_at), int(retry),
        int(expire), ack_at, ack_by, ack_device, bool(expired), cancelled_at,
    )  # fmt: skip
