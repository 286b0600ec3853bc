"""The receipt book: what the service asks about emergency alerts, over either store.

It keeps a receipt for every emergency send, adds the callback URL to alerts (web service with
``PUBLIC_URL``), records acknowledgements from callbacks or from polling Pushover, marks
cancelled alerts and answers "what is the newest alert of this intent, and where does it stand?".

Keeping receipts must never stop an alert: a store that fails is logged and the send goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from .. import const
from ..config import Credentials
from ..errors import PushoverError, ReceiptError
from ..phrases import counted
from ..pushover import Message, PushoverClient
from .callback import Acknowledgement, callback_url
from .model import KEEP_S, RECENT_S, AlertState, Receipt, ReceiptStore

logger = logging.getLogger(__name__)

#: A poll's answer about a still-open alert is reused for this long (Alexa asks again within seconds).
POLL_CACHE_S: Final = 15.0
#: A poll waits at most this long for Pushover's answer: the status intent answers from what it
#: knows rather than make the person wait (the client's connect timeout still applies).
POLL_READ_TIMEOUT_S: Final = 2.0
#: Below this much time left in the request, the answer comes from what is known, without a poll.
MIN_POLL_S: Final = 0.2
#: Open alerts are those sent within Pushover's longest expiry.
OPEN_WINDOW_S: Final = float(const.MAX_EXPIRE_S)


class ReceiptBook:
    """Receipts kept in ``store``; acknowledgements by callback (``callback_url``) or by polling ``client``."""

    def __init__(
        self,
        store: ReceiptStore,
        *,
        client: PushoverClient | None = None,
        credentials_for: Callable[[str], Credentials | None] | None = None,
        callback_url: str | None = None,
        name_for_user_key: Callable[[str], str | None] | None = None,
        zone: dt.tzinfo | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.client = client
        self.credentials_for = credentials_for
        self.callback_url = callback_url
        #: user key -> a person's name; the map's ``people:`` provides it (None: device names only).
        self.name_for_user_key = name_for_user_key
        self.zone = zone
        self.clock = clock
        self._lock = threading.Lock()
        self._polled: dict[str, float] = {}

    def __repr__(self) -> str:
        mode = "callbacks" if self.callback_url else "polling" if self.client else "no updates"
        return f"ReceiptBook({self.store!r}, {mode})"

    @property
    def polls(self) -> bool:
        """True when acknowledgements are learned by asking Pushover (no callback URL)."""
        return self.callback_url is None and self.client is not None

    # -- sending and cancelling

    def prepare(self, message: Message) -> Message:
        """``message`` with the callback URL when it is an emergency alert that names none itself."""
        if self.callback_url and message.priority == const.EMERGENCY_PRIORITY and not message.callback:
            return dataclasses.replace(message, callback=self.callback_url)
        return message

    def record(self, intent: str, notifier: str, message: Message, receipt: str) -> None:
        """Keep the receipt of an emergency alert that Pushover accepted, and prune old ones."""
        now = self.clock()
        tags = tuple(t.strip() for t in (message.tags or "").split(",") if t.strip())
        kept = Receipt(receipt, intent, tags, notifier, message.devices, now, message.retry or 0, message.expire or 0)
        try:
            self.store.add(kept)
            pruned = self.store.prune(now - KEEP_S)
        except ReceiptError as err:
            logger.error("intent %s: the alert is out, but its receipt %s was not kept: %s", intent, receipt, err)
            return
        if pruned:
            logger.info("pruned %s older than %.0f days", counted(pruned, "receipt"), KEEP_S / 86400)

    def cancel_tagged(self, tag: str) -> int:
        """Mark the open alerts carrying ``tag`` as cancelled; how many were marked."""
        now = self.clock()
        marked = 0
        try:
            for receipt in self.store.recent(now - OPEN_WINDOW_S, limit=100):
                if tag in receipt.tags and receipt.state(now) == AlertState.OPEN:
                    marked += self.store.mark_cancelled(receipt.receipt, now)
        except ReceiptError as err:
            logger.error("cannot mark alerts tagged %s as cancelled: %s", tag, err)
        return marked

    # -- acknowledgements

    def acknowledge(self, ack: Acknowledgement) -> bool | None:
        """Record a callback's acknowledgement: True if recorded now, False if already, None for an unknown receipt."""
        if self.store.get(ack.receipt) is None:
            return None
        return self.store.acknowledge(ack.receipt, float(ack.at), self._name(ack.user_key), ack.device)

    def _name(self, user_key: str) -> str | None:
        if not user_key or self.name_for_user_key is None:
            return None
        try:
            return self.name_for_user_key(user_key)
        except Exception:  # a broken lookup costs the name, never the acknowledgement
            logger.warning("cannot look up who acknowledged an alert", exc_info=True)
            return None

    # -- questions

    def latest(self, intent: str, *, wait_s: float | None = None) -> Receipt | None:
        """The newest recent alert of ``intent``, brought up to date (one poll at most, within ``wait_s``)."""
        now = self.clock()
        found = self.store.recent(now - RECENT_S, intent=intent, limit=1)
        return self._refresh(found[0], now, wait_s) if found else None

    def open_alerts(self, *, refresh: bool = False) -> list[Receipt]:
        """Alerts still repeating, the newest first (``refresh``: poll the newest once to be sure)."""
        now = self.clock()
        found = [r for r in self.store.recent(now - OPEN_WINDOW_S) if r.state(now) == AlertState.OPEN]
        if refresh and found:
            newest = self._refresh(found[0], now)
            found = [newest, *found[1:]] if newest.state(now) == AlertState.OPEN else found[1:]
        return found

    def _refresh(self, receipt: Receipt, now: float, wait_s: float | None = None) -> Receipt:
        """Ask Pushover about an alert that looks open (or expired by the clock alone); at most every POLL_CACHE_S."""
        state = receipt.state(now)
        unsure = state == AlertState.OPEN or (state == AlertState.EXPIRED and not receipt.expired)
        wait = min(POLL_READ_TIMEOUT_S, self.client.read_timeout_s if self.client else 0.0)
        if wait_s is not None:
            wait = min(wait, wait_s - (self.client.connect_timeout_s if self.client else 0.0))
        if not (unsure and self.polls and self.credentials_for is not None) or wait < MIN_POLL_S:
            return receipt
        with self._lock:
            if now - self._polled.get(receipt.receipt, float("-inf")) < POLL_CACHE_S:
                return receipt
            self._polled = {k: v for k, v in self._polled.items() if now - v < POLL_CACHE_S}
            self._polled[receipt.receipt] = now
        try:
            credentials = self.credentials_for(receipt.notifier)
        except KeyError:  # the notifier left the map
            credentials = None
        if credentials is None or self.client is None:
            return receipt
        try:
            status = self.client.receipt_status(credentials.token, receipt.receipt, read_timeout_s=wait)
        except PushoverError as err:
            logger.warning("cannot ask Pushover about receipt %s: %s", receipt.receipt, err)
            return receipt
        if status.acknowledged:
            at = float(status.acknowledged_at or now)
            name = self._name(status.acknowledged_by or "")
            self.store.acknowledge(receipt.receipt, at, name, status.acknowledged_device)
        elif status.expired:
            self.store.mark_expired(receipt.receipt)
        else:
            return receipt
        return self.store.get(receipt.receipt) or receipt

    def health(self) -> dict[str, Any]:
        """What /healthz shows: the alerts still repeating, and how acknowledgements arrive."""
        try:
            alerts = self.open_alerts()
        except ReceiptError:
            logger.warning("/healthz: the receipts cannot be read", exc_info=True)
            return {"open": None, "error": "the receipts cannot be read"}
        return {
            "open": [
                {
                    "intent": r.intent,
                    "sent_at": _iso(r.sent_at),
                    "expires_at": _iso(r.expires_at),
                    "devices": list(r.devices),
                }
                for r in alerts
            ],
            "acknowledgements": "callback" if self.callback_url else "polling" if self.polls else "none",
        }


def open_web_receipts(
    path: str,
    public_url: str | None,
    client: PushoverClient,
    credentials_for: Callable[[str], Credentials | None],
    name_for_user_key: Callable[[str], str | None],
    zone: dt.tzinfo | None,
) -> tuple[ReceiptBook, str | None]:
    """The web service's book: receipts in the outbox's file (``path``) and, with ``public_url``,
    callbacks to a URL holding the installation's secret (returned too); else the book polls.
    """
    from .sqlite import SqliteReceiptStore  # the web service's store; Lambda never loads sqlite3

    store = SqliteReceiptStore(path)
    secret = None
    if public_url:
        try:
            secret = store.installation_secret()
        except ReceiptError as err:
            logger.error("PUBLIC_URL is set, but %s; acknowledgements are polled instead", err)
    book = ReceiptBook(
        store,
        client=client,
        credentials_for=credentials_for,
        callback_url=callback_url(public_url, secret) if public_url and secret else None,
        name_for_user_key=name_for_user_key,
        zone=zone,
    )
    return book, secret


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
