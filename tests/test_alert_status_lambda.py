"""The emergency loop through the Lambda handler, receipts in a local DynamoDB-compatible server.

moto's server mode runs on 127.0.0.1 (tests/local_dynamodb.py); the function's own boto3 client
(``lambda_function.create_aws_client``) reaches it through ``AWS_ENDPOINT_URL_DYNAMODB``. Lambda has
no callback endpoint: the status intent polls Pushover's receipt (the fake server).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from skill import lambda_function
from skill.alexa import build_request_envelope
from skill.receipts.book import POLL_CACHE_S
from tests.alerts import ALERT_MAP, Clock
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import said, write
from tests.local_dynamodb import LOCAL_AWS_ENV, create_table, dynamodb_client

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"


@pytest.fixture
def table(local_dynamodb: str) -> str:
    return create_table(dynamodb_client(local_dynamodb))


@pytest.fixture
def function(monkeypatch, tmp_path: Path, fake_pushover: FakePushover, local_dynamodb: str, table: str):
    """A cold-started function: the map above, Pushover at the fake, receipts in the local table."""
    path = write(tmp_path, ALERT_MAP)
    for name, value in {
        **LOCAL_AWS_ENV, "AWS_ENDPOINT_URL_DYNAMODB": local_dynamodb, "RECEIPTS_TABLE": table,
        "INTENT_MAP": str(path), "ALEXA_SKILL_ID": SKILL_ID, "PUSHOVER_API_URL": fake_pushover.url,
        "PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER, "TIMEZONE": "UTC",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for name in ("PUSHOVER_SECRET_ID", "PUSHOVER_TOKEN_PARAMETER", "PUSHOVER_USER_PARAMETER", "DRY_RUN",
                 "AWS_LAMBDA_FUNCTION_NAME", "AWS_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lambda_function, "client_factory", lambda_function.create_aws_client)
    lambda_function._reset_for_tests()
    clock = Clock()
    book = lambda_function.get_runtime().service.receipts
    assert book is not None
    book.clock = clock
    yield clock
    lambda_function._reset_for_tests()


def say(intent: str | None, request_type: str = "IntentRequest") -> str:
    envelope = build_request_envelope(request_type, intent, {}, application_id=SKILL_ID)
    return said(lambda_function.handler(envelope, None))


def test_alert_not_yet_acknowledged_then_named(function, fake_pushover, local_dynamodb, table):
    clock = function
    assert say("AlertStatusIntent") == "There's no recent alert."
    assert say("EmergencyIntent") == "OK, I sent the notification."
    (receipt,) = fake_pushover.receipts
    item = dynamodb_client(local_dynamodb).get_item(TableName=table, Key={"receipt": {"S": receipt}})["Item"]
    assert item["intent"] == {"S": "EmergencyIntent"} and item["devices"] == {"S": "pixel3"}
    assert say("AlertStatusIntent").startswith("Nobody has acknowledged the alert from ")
    assert "hasn't been acknowledged yet" in say(None, "LaunchRequest")
    fake_pushover.acknowledge(receipt, device="iphone", at=int(clock.now) + 120)
    clock.now += POLL_CACHE_S
    said = say("AlertStatusIntent")
    assert said.endswith("was acknowledged on iphone, 2 minutes after it was sent."), said


def test_alert_expired(function, fake_pushover):
    clock = function
    say("EmergencyIntent")
    (receipt,) = fake_pushover.receipts
    fake_pushover.expire(receipt)
    clock.now += POLL_CACHE_S
    assert say("AlertStatusIntent").endswith("expired without an acknowledgement.")


def test_alert_cancelled(function, fake_pushover):
    clock = function
    say("EmergencyIntent")
    clock.now += 60
    assert say("CancelAlertIntent") == "I stopped one alert."
    assert say("AlertStatusIntent").startswith("You cancelled the alert at ")
    assert fake_pushover.requests_to("receipt") == []  # a cancelled alert needs no poll
