"""The Lambda function's receipt store: a DynamoDB table (``RECEIPTS_TABLE``, declared in template.yaml).

The table's key is ``receipt``; a global secondary index ``recent`` (key ``kind``, always
``alert``, and ``sent_at``) answers "the newest alerts". DynamoDB's time-to-live deletes an item
after its ``prune_at`` (``KEEP_S`` after it was sent); reads ignore anything older than asked.

The client is a low-level boto3 DynamoDB client made by the caller (``lambda_function`` makes
it with short timeouts); this module never imports boto3.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from ..errors import ReceiptError
from .model import KEEP_S, RECENT_LIMIT, Receipt

logger = logging.getLogger(__name__)

#: The index that lists alerts by the time they were sent.
RECENT_INDEX: Final = "recent"
#: The one value of the index's partition key (alerts are few: one partition holds them all).
KIND: Final = "alert"
#: Pages read at most for one question (a page is up to 1 MB; alerts are a few hundred bytes).
MAX_PAGES: Final = 5


class DynamoReceiptStore:
    """Receipts in a DynamoDB table; every update is conditional, so repeats change nothing."""

    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def __repr__(self) -> str:
        return f"DynamoReceiptStore(table={self.table!r})"

    def add(self, receipt: Receipt) -> None:
        """Keep a newly sent alert."""
        item: dict[str, Any] = {
            "receipt": {"S": receipt.receipt},
            "kind": {"S": KIND},
            "sent_at": _n(receipt.sent_at),
            "intent": {"S": receipt.intent},
            "tags": {"S": ",".join(receipt.tags)},
            "notifier": {"S": receipt.notifier},
            "devices": {"S": ",".join(receipt.devices)},
            "retry": _n(receipt.retry),
            "expire": _n(receipt.expire),
            "expires_at": _n(receipt.expires_at),
            "expired": {"BOOL": receipt.expired},
            "prune_at": _n(int(receipt.sent_at + KEEP_S)),
        }
        for name in ("acknowledged_at", "cancelled_at"):
            if getattr(receipt, name) is not None:
                item[name] = _n(getattr(receipt, name))
        for name in ("acknowledged_by", "acknowledged_device"):
            if getattr(receipt, name):
                item[name] = {"S": getattr(receipt, name)}
        self._call("PutItem", TableName=self.table, Item=item)

    def get(self, receipt: str) -> Receipt | None:
        """One receipt by its id, or None."""
        answer = self._call("GetItem", TableName=self.table, Key=_key(receipt), ConsistentRead=True)
        item = answer.get("Item")
        return _decode(item) if item else None

    def recent(self, since: float, *, intent: str | None = None, limit: int = RECENT_LIMIT) -> list[Receipt]:
        """Receipts sent at or after ``since``, the newest first."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": RECENT_INDEX,
            "KeyConditionExpression": "kind = :kind AND sent_at >= :since",
            "ExpressionAttributeValues": {":kind": {"S": KIND}, ":since": _n(since)},
            "ScanIndexForward": False,
        }
        if intent is not None:
            # A filter applies after Limit, so pages are read until enough match.
            query["FilterExpression"] = "intent = :intent"
            query["ExpressionAttributeValues"][":intent"] = {"S": intent}
        else:
            query["Limit"] = limit
        found: list[Receipt] = []
        for _ in range(MAX_PAGES):
            answer = self._call("Query", **query)
            found.extend(_decode(item) for item in answer.get("Items", []))
            start = answer.get("LastEvaluatedKey")
            if len(found) >= limit or not start:
                break
            query["ExclusiveStartKey"] = start
        return found[:limit]

    def acknowledge(self, receipt: str, at: float, by: str | None, device: str | None) -> bool:
        """Record the first acknowledgement only."""
        names = ["acknowledged_at = :at"]
        values: dict[str, Any] = {":at": _n(at)}
        if by:
            names.append("acknowledged_by = :by")
            values[":by"] = {"S": by}
        if device:
            names.append("acknowledged_device = :device")
            values[":device"] = {"S": device}
        return self._update(
            receipt,
            "SET " + ", ".join(names),
            "attribute_exists(receipt) AND attribute_not_exists(acknowledged_at)",
            values,
        )

    def mark_expired(self, receipt: str) -> bool:
        """Record an expiry without acknowledgement."""
        return self._update(
            receipt,
            "SET expired = :yes",
            "attribute_exists(receipt) AND expired = :no AND attribute_not_exists(acknowledged_at)",
            {":yes": {"BOOL": True}, ":no": {"BOOL": False}},
        )

    def mark_cancelled(self, receipt: str, at: float) -> bool:
        """Record a cancel of an alert nobody has acknowledged, cancelled or let expire yet."""
        return self._update(
            receipt,
            "SET cancelled_at = :at",
            "attribute_exists(receipt) AND attribute_not_exists(acknowledged_at) "
            "AND attribute_not_exists(cancelled_at) AND expired = :no AND expires_at > :at",
            {":at": _n(at), ":no": {"BOOL": False}},
        )

    def prune(self, before: float) -> int:
        """Forget receipts sent before ``before`` (DynamoDB's TTL does this too, within a day or two)."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": RECENT_INDEX,
            "KeyConditionExpression": "kind = :kind AND sent_at < :before",
            "ExpressionAttributeValues": {":kind": {"S": KIND}, ":before": _n(before)},
            "ProjectionExpression": "receipt",
        }
        removed = 0
        for _ in range(MAX_PAGES):
            answer = self._call("Query", **query)
            for item in answer.get("Items", []):
                self._call("DeleteItem", TableName=self.table, Key={"receipt": item["receipt"]})
                removed += 1
            if not answer.get("LastEvaluatedKey"):
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return removed

    def close(self) -> None:
        """Nothing to release: the client's connections close with the process."""

    # -- DynamoDB

    def _update(self, receipt: str, expression: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self._call(
                "UpdateItem",
                TableName=self.table,
                Key=_key(receipt),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False
        return True

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = {
            "PutItem": "put_item", "GetItem": "get_item", "Query": "query", "UpdateItem": "update_item",
            "DeleteItem": "delete_item",
        }[operation]  # fmt: skip
        try:
            answer: dict[str, Any] = getattr(self.client, method)(**params)
        except Exception as err:  # botocore's ClientError and connection errors; no botocore import here
            code = getattr(err, "response", {}).get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed from err
            text = " ".join(f"{type(err).__name__}: {err}".split())[:300]
            raise ReceiptError(f"DynamoDB {operation} on {self.table} failed: {text}") from err
        return answer


class _ConditionFailed(Exception):
    """A conditional update found the receipt in another state (or absent)."""


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _key(receipt: str) -> dict[str, Any]:
    return {"receipt": {"S": receipt}}


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part)


def _decode(item: dict[str, Any]) -> Receipt:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value else None

    def number(name: str) -> float | None:
        value = item.get(name, {}).get("N")
        return float(value) if value is not None else None

    return Receipt(
        receipt=item["receipt"]["S"],
        intent=text("intent") or "",
        tags=_split(text("tags") or ""),
        notifier=text("notifier") or "",
        devices=_split(text("devices") or ""),
        sent_at=number("sent_at") or 0.0,
        retry=int(number("retry") or 0),
        expire=int(number("expire") or 0),
        acknowledged_at=number("acknowledged_at"),
        acknowledged_by=text("acknowledged_by"),
        acknowledged_device=text("acknowledged_device"),
        expired=bool(item.get("expired", {}).get("BOOL", False)),
        cancelled_at=number("cancelled_at"),
    )
