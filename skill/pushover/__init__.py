"""Pushover API client on one ``requests.Session``: send, validate, sounds, receipts.

Every failure is translated in one place (``PushoverClient._call``, with ``transport.check_response``
and ``transport.translate_failure``) into the
tree of :mod:`skill.errors`:

=====================================================  =========================================
what happened                                          raised
=====================================================  =========================================
HTTP 429                                               QuotaExceededError (permanent)
any other 4xx, a 3xx, a 200 whose ``status`` is not 1  PermanentError, with ``errors``/``request_id``
5xx (JSON or an HTML error page)                       TransientError
no answer within the read timeout                      PushoverTimeoutError (``maybe_delivered``)
connection refused, connect timeout, DNS, TLS          PushoverConnectionError (not delivered)
connection dropped after the request was sent,         TransientError with ``maybe_delivered``
a 2xx whose body is not JSON
=====================================================  =========================================

A 2xx with a body that is not JSON is treated as transient and *maybe delivered*:
something answered, but we cannot tell whether Pushover queued the message. The
outbox retries it, so the notification arrives at least once; a rare duplicate is
the chosen price for never losing one.

Retries: at most one, immediately, and only where it cannot duplicate a message —
the connection was refused before a byte was sent. An idempotent call (validate,
sounds, cancel) is also retried once when the connection dropped without an answer.
Nothing is retried after a read timeout or a 5xx: the caller's outbox does that,
no sooner than ``const.MIN_RETRY_INTERVAL_S`` later.

The token and user key never appear in log records, reprs or exception messages.

``requests`` is imported, and the session opened, on the first call: a Lambda cold start whose
request sends nothing (a LaunchRequest, a help) never loads it. When the environment names a
proxy or a CA bundle, the session is opened at once, so those are read when the client is built.

The parts: ``message`` (Message, SendResult, Quota, ReceiptStatus), ``transport`` (the session,
answers and failures translated, secrets redacted) and ``client`` (PushoverClient).
"""

from __future__ import annotations

from .client import USER_AGENT, PushoverClient
from .message import QUOTA_WARNING_FRACTION, Message, Quota, ReceiptStatus, SendResult
from .transport import MAX_CONNECTIONS

__all__ = [
    "MAX_CONNECTIONS",
    "QUOTA_WARNING_FRACTION",
    "USER_AGENT",
    "Message",
    "PushoverClient",
    "Quota",
    "ReceiptStatus",
    "SendResult",
]
