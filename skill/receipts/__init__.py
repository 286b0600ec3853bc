"""Emergency receipts and acknowledgements: one interface, a SQLite store (web) and a DynamoDB store (Lambda).

``model`` (Receipt, ReceiptStore), ``sqlite``, ``dynamodb`` (a boto3 client comes in; boto3 is
never imported here), ``book`` (what the service asks), ``callback`` (Pushover's callback, without
Flask) and ``speech`` (what the status intent says). See docs/pushover.md, "Did anyone acknowledge?".
"""

from __future__ import annotations

from .book import ReceiptBook, open_web_receipts
from .callback import Acknowledgement, callback_url, parse_callback
from .model import AlertState, Receipt, ReceiptStore

__all__ = [
    "Acknowledgement",
    "AlertState",
    "Receipt",
    "ReceiptBook",
    "ReceiptStore",
    "callback_url",
    "open_web_receipts",
    "parse_callback",
]  # fmt: skip
