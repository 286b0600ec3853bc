"""Replays refused: a signed request whose requestId was accepted before gets 400 and sends nothing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from skill.errors import VerificationError
from skill.replay import ReplayGuard
from skill.web import create_app, skill_of
from tests.fake_pushover import FakePushover
from tests.helpers import make_settings
from tests.pki import Pki, make_pki, signed_headers

ROOT = Path(__file__).resolve().parents[1]
SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"  # the id in tests/fixtures/*.json
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-14.pem"
REPLAY = "request.requestId was seen before: a replayed request"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def client(pki: Pki, fake_pushover: FakePushover, tmp_path: Path) -> Iterator[FlaskClient]:
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pki.root_pem)
    settings = make_settings(
        fake_pushover, intent_map_path=str(ROOT / "intents.yaml"), alexa_skill_id=SKILL_ID, alexa_verify=True,
        alexa_ca_bundle=str(roots), outbox_path=str(tmp_path / "outbox.sqlite3"),
    )  # fmt: skip
    app = create_app({"TESTING": True, "SETTINGS": settings, "FETCH": lambda url: pki.chain_pem})
    try:
        yield app.test_client()
    finally:
        skill_of(app).close()


def locate(pki: Pki, request_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    """tests/fixtures/locate_intent.json, stamped now, with ``request_id`` (default: a fresh one), signed."""
    envelope = json.loads((ROOT / "tests" / "fixtures" / "locate_intent.json").read_text(encoding="utf-8"))
    envelope["request"]["timestamp"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope["request"]["requestId"] = request_id or f"amzn1.echo-api.request.{uuid.uuid4()}"
    body = json.dumps(envelope).encode()
    return body, signed_headers(body, pki.leaf_key, CERT_URL)


def test_a_replayed_request_is_refused_and_sends_nothing(
    client: FlaskClient, pki: Pki, fake_pushover: FakePushover
) -> None:
    body, headers = locate(pki)
    statuses = [client.post("/alexa", data=body, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 400, 400]
    assert len(fake_pushover.requests_to("messages")) == 1


def test_the_same_id_in_another_signed_body_is_a_replay_too(
    client: FlaskClient, pki: Pki, fake_pushover: FakePushover
) -> None:
    request_id = f"amzn1.echo-api.request.{uuid.uuid4()}"
    first, second = locate(pki, request_id), locate(pki, request_id)
    assert client.post("/alexa", data=first[0], headers=first[1]).status_code == 200
    response = client.post("/alexa", data=second[0], headers=second[1])
    assert (response.status_code, response.get_json()) == (400, {"error": "request verification failed"})
    assert len(fake_pushover.requests_to("messages")) == 1


def test_distinct_requests_all_pass(client: FlaskClient, pki: Pki, fake_pushover: FakePushover) -> None:
    for _ in range(5):
        body, headers = locate(pki)
        assert client.post("/alexa", data=body, headers=headers).status_code == 200
    assert len(fake_pushover.requests_to("messages")) == 5


def test_a_refused_forgery_is_not_remembered(client: FlaskClient, pki: Pki) -> None:
    # Only requests that verified are remembered: a forged copy cannot block the real one.
    body, headers = locate(pki)
    forged = body.replace(b"Paulus", b"Mallory")
    assert client.post("/alexa", data=forged, headers=headers).status_code == 400
    assert client.post("/alexa", data=body, headers=headers).status_code == 200


def test_without_signature_checks_nothing_is_remembered(pki: Pki, fake_pushover: FakePushover, tmp_path: Path) -> None:
    settings = make_settings(
        fake_pushover, intent_map_path=str(ROOT / "intents.yaml"), alexa_verify=False,
        outbox_path=str(tmp_path / "outbox.sqlite3"),
    )  # fmt: skip
    app = create_app({"TESTING": True, "SETTINGS": settings})
    try:
        body, headers = locate(pki)
        client = app.test_client()
        assert [client.post("/alexa", data=body, headers=headers).status_code for _ in range(2)] == [200, 200]
        assert len(skill_of(app).verifier.replays) == 0
    finally:
        skill_of(app).close()


# --------------------------------------------------------------------------- ReplayGuard


def test_an_id_is_remembered_until_its_window_ends() -> None:
    guard = ReplayGuard()
    guard.check("a", until=100.0, now=0.0)
    with pytest.raises(VerificationError, match=REPLAY):
        guard.check("a", until=100.0, now=100.0)
    guard.check("b", until=300.0, now=100.5)  # "a" is forgotten once its window has passed
    assert len(guard) == 1
    guard.check("a", until=250.0, now=101.0)


def test_memory_is_bounded_and_the_earliest_window_goes_first() -> None:
    guard = ReplayGuard(max_entries=3)
    for request_id, until in [("late", 900.0), ("early", 100.0), ("mid", 500.0), ("new", 800.0)]:
        guard.check(request_id, until=until, now=0.0)
    assert len(guard) == 3
    guard.check("early", until=100.0, now=0.0)  # forgotten to make room: accepted again (and "mid" goes)
    guard.check("mid", until=500.0, now=0.0)
    for request_id in ("late", "new", "mid"):
        with pytest.raises(VerificationError, match=REPLAY):
            guard.check(request_id, until=900.0, now=0.0)


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ReplayGuard(max_entries=0)
