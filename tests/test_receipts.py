"""The receipt stores, one contract: SQLite (the outbox's file) and DynamoDB (a local server started here).

Every test runs against both stores; the DynamoDB one talks over HTTP to moto's server mode with a
real boto3 client, on a table made from template.yaml's own declaration.
"""

from __future__ import annotations

import sqlite3

import pytest

from skill.errors import ReceiptError
from skill.outbox import Outbox
from skill.pushover import Message, PushoverClient
from skill.receipts import AlertState, Receipt
from skill.receipts.dynamodb import DynamoReceiptStore
from skill.receipts.model import KEEP_S
from skill.receipts.sqlite import SqliteReceiptStore
from tests.local_dynamodb import create_table, dynamodb_client

T0 = 1_780_000_000.0


def receipt(ident: str = "rAbc123", *, sent_at: float = T0, intent: str = "EmergencyIntent", **kw) -> Receipt:
    fields = {"tags": ("alexa-emergencyintent",), "notifier": "notify", "devices": ("pixel3", "iphone"),
              "retry": 30, "expire": 300} | kw  # fmt: skip
    return Receipt(ident, intent, sent_at=sent_at, **fields)


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, tmp_path):
    if request.param == "sqlite":
        kept = SqliteReceiptStore(str(tmp_path / "outbox.sqlite3"))
    else:
        client = dynamodb_client(request.getfixturevalue("local_dynamodb"))
        kept = DynamoReceiptStore(client, create_table(client))
    yield kept
    kept.close()


def test_a_kept_receipt_comes_back_whole(store):
    store.add(receipt())
    got = store.get("rAbc123")
    assert got == receipt()
    assert got.expires_at == T0 + 300
    assert store.get("nope") is None


def test_recent_lists_the_newest_first_within_the_window_and_by_intent(store):
    store.add(receipt("old", sent_at=T0 - 100))
    store.add(receipt("new", sent_at=T0 + 100))
    store.add(receipt("mid", sent_at=T0))
    store.add(receipt("other", sent_at=T0 + 200, intent="FireIntent"))
    assert [r.receipt for r in store.recent(T0 - 1000)] == ["other", "new", "mid", "old"]
    assert [r.receipt for r in store.recent(T0 - 1000, intent="EmergencyIntent")] == ["new", "mid", "old"]
    assert [r.receipt for r in store.recent(T0, intent="EmergencyIntent", limit=1)] == ["new"]
    assert [r.receipt for r in store.recent(T0 + 150)] == ["other"]


def test_the_first_acknowledgement_wins_and_a_repeat_changes_nothing(store):
    store.add(receipt())
    assert store.acknowledge("rAbc123", T0 + 120, "Paulus", "pixel3") is True
    assert store.acknowledge("rAbc123", T0 + 130, "Anne", "iphone") is False
    got = store.get("rAbc123")
    assert (got.acknowledged_at, got.acknowledged_by, got.acknowledged_device) == (T0 + 120, "Paulus", "pixel3")
    assert got.state(T0 + 1000) == AlertState.ACKNOWLEDGED
    assert store.acknowledge("unknown", T0, None, None) is False
    assert store.get("unknown") is None  # an update never creates a receipt


def test_an_acknowledgement_without_a_name_keeps_the_device(store):
    store.add(receipt())
    assert store.acknowledge("rAbc123", T0 + 5, None, "iphone")
    got = store.get("rAbc123")
    assert (got.acknowledged_by, got.acknowledged_device) == (None, "iphone")


def test_cancel_marks_only_an_open_alert(store):
    store.add(receipt("open"))
    store.add(receipt("acked"))
    store.add(receipt("ran-out", sent_at=T0 - 1000))
    store.acknowledge("acked", T0 + 1, "Paulus", None)
    assert store.mark_cancelled("open", T0 + 60) is True
    assert store.mark_cancelled("open", T0 + 70) is False
    assert store.mark_cancelled("acked", T0 + 60) is False
    assert store.mark_cancelled("ran-out", T0 + 60) is False  # expired by the clock
    assert store.get("open").state(T0 + 61) == AlertState.CANCELLED
    assert store.get("open").cancelled_at == T0 + 60


def test_an_expiry_is_recorded_once_and_never_over_an_acknowledgement(store):
    store.add(receipt("a"))
    store.add(receipt("b"))
    store.acknowledge("b", T0 + 1, None, "pixel3")
    assert store.mark_expired("a") is True
    assert store.mark_expired("a") is False
    assert store.mark_expired("b") is False
    assert store.get("a").state(T0 + 1) == AlertState.EXPIRED
    assert store.get("b").state(T0 + 1000) == AlertState.ACKNOWLEDGED


def test_old_receipts_are_pruned(store):
    store.add(receipt("ancient", sent_at=T0 - KEEP_S - 1))
    store.add(receipt("fresh"))
    assert store.prune(T0 - KEEP_S) == 1
    assert store.get("ancient") is None
    assert store.get("fresh") is not None
    assert store.prune(T0 - KEEP_S) == 0


def test_dynamodb_items_carry_the_ttl_attribute_the_template_names(local_dynamodb):
    client = dynamodb_client(local_dynamodb)
    table = create_table(client)
    DynamoReceiptStore(client, table).add(receipt())
    item = client.get_item(TableName=table, Key={"receipt": {"S": "rAbc123"}})["Item"]
    assert int(item["prune_at"]["N"]) == int(T0 + KEEP_S)
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "prune_at"


def test_a_missing_dynamodb_table_is_a_receipt_error_that_names_it(local_dynamodb):
    store = DynamoReceiptStore(dynamodb_client(local_dynamodb), "no-such-table")
    with pytest.raises(ReceiptError, match="no-such-table") as caught:
        store.add(receipt())
    assert "ResourceNotFound" in str(caught.value)


def test_the_sqlite_store_shares_the_outbox_file_and_leaves_its_schema_alone(tmp_path):
    path = str(tmp_path / "outbox.sqlite3")
    with PushoverClient("http://127.0.0.1:9/1") as client, Outbox(path, client, lambda name: None) as outbox:
        outbox.put("notify", Message("waiting"))
        store = SqliteReceiptStore(path)
        store.add(receipt())
        assert outbox.depth() == 1
        assert store.get("rAbc123") is not None
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"pending", "receipts"} <= tables


def test_the_callback_secret_is_made_once_per_file_and_unguessable(tmp_path):
    first = SqliteReceiptStore(str(tmp_path / "a.sqlite3"))
    secret = first.installation_secret()
    assert len(secret) >= 40 and secret.replace("-", "").replace("_", "").isalnum()
    first.close()
    again = SqliteReceiptStore(str(tmp_path / "a.sqlite3"))
    assert again.installation_secret() == secret  # a restart keeps the URL Pushover was given
    other = SqliteReceiptStore(str(tmp_path / "b.sqlite3"))
    assert other.installation_secret() != secret
    assert secret not in repr(again)


def test_an_unusable_sqlite_file_is_a_receipt_error(tmp_path):
    store = SqliteReceiptStore(str(tmp_path / "missing-dir" / "outbox.sqlite3"))
    with pytest.raises(ReceiptError, match="cannot open the receipt store"):
        store.get("x")
