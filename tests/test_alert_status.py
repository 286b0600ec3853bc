"""The emergency loop through the web service: alert, status, Pushover's callback, expiry, cancel, forgery.

Pushover is the fake server (tests/fake_pushover.py); the callback is posted by the test, as Pushover
posts it, to the URL the alert carried; the app keeps receipts in its outbox file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skill.alexa import build_request_envelope
from skill.receipts.book import POLL_CACHE_S
from skill.web import create_app, skill_of
from tests.alerts import ALERT_MAP, Clock
from tests.fake_pushover import USER, FakePushover
from tests.helpers import make_settings, said, write
from tests.web_apps import app_maker

MAP = (
    'launch: "Family notes here."\n'
    + ALERT_MAP.lstrip("\n")
    + """\
  TemplatedStatusIntent:
    samples: ["who answered"]
    alert_status: EmergencyIntent
    speech: >-
      {% if acknowledged %}{{ acknowledged_by or acknowledged_device }} at {{ acknowledged_at }}
      {%- elif expired %}ran out at {{ expires_at }}{% else %}open since {{ sent_at }}{% endif %}
"""
)
PUBLIC_URL = "https://skill.example.net"


@pytest.fixture
def map_path(tmp_path: Path) -> str:
    return str(write(tmp_path, MAP))


@pytest.fixture
def make_app(tmp_path: Path, map_path: str, fake_pushover: FakePushover) -> Iterator[Callable[..., Flask]]:
    with app_maker(tmp_path, fake_pushover, intent_map_path=map_path, timezone="UTC") as make:
        yield make


def ask(client: FlaskClient, intent: str | None, request_type: str = "IntentRequest") -> str:
    envelope = build_request_envelope(request_type, intent, {})
    response = client.post("/alexa", json=envelope)
    assert response.status_code == 200, response.get_json()
    return said(response.get_json())


def callback_path(fake: FakePushover) -> str:
    """The path of the callback URL the newest alert carried."""
    sent = [r for r in fake.requests_to("messages") if "callback" in r.form][-1]
    url = sent.form["callback"]
    assert url.startswith(PUBLIC_URL + "/pushover/callback/")
    return urlsplit(url).path


def test_alert_not_yet_callback_then_status_names_who_acknowledged(make_app, fake_pushover):
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    assert ask(client, "EmergencyIntent") == "OK, I sent the notification."
    (receipt,) = fake_pushover.receipts
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged the alert from ")
    assert "hasn't been acknowledged yet" in ask(client, None, "LaunchRequest")
    form = fake_pushover.acknowledge(receipt, user=USER, device="pixel3")
    response = client.post(callback_path(fake_pushover), data=form)
    assert response.status_code == 200
    said = ask(client, "AlertStatusIntent")
    assert said.startswith("Your alert from ") and " was acknowledged on pixel3, " in said
    assert client.post(callback_path(fake_pushover), data=form).status_code == 200  # Pushover may repeat it
    assert ask(client, None, "LaunchRequest") == "Family notes here."
    assert fake_pushover.requests_to("receipt") == []  # callbacks: no polling


def test_alert_then_expiry_says_expired(make_app, fake_pushover):
    app = make_app(public_url=PUBLIC_URL)
    clock = Clock()
    skill_of(app).receipts.clock = clock
    client = app.test_client()
    ask(client, "EmergencyIntent")
    clock.now += 300  # the alert's expire
    assert ask(client, "AlertStatusIntent").endswith("expired without an acknowledgement.")
    assert ask(client, "TemplatedStatusIntent").startswith("ran out at ")
    assert ask(client, None, "LaunchRequest") == "Family notes here."


def test_alert_then_cancel_says_cancelled(make_app, fake_pushover):
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    ask(client, "EmergencyIntent")
    assert ask(client, "CancelAlertIntent") == "I stopped one alert."
    said = ask(client, "AlertStatusIntent")
    assert said.startswith("You cancelled the alert at "), said
    assert skill_of(app).receipts.health()["open"] == []


@pytest.mark.parametrize(
    ("path_of", "form", "content_type", "status"),
    [
        (lambda real: real[:-4] + "abcd", None, None, 404),  # wrong secret
        (lambda real: real, {"token": "x"}, None, 400),  # a field Pushover never sends
        (lambda real: real, {"receipt": "unknownReceipt123"}, None, 404),  # not one of ours
        (lambda real: real, {"acknowledged_at": "yesterday"}, None, 400),
        (lambda real: real, {"acknowledged_by_device": "x" * 2000}, None, 413),
        (lambda real: real, None, "application/json", 400),
    ],
)
def test_a_forged_callback_changes_nothing(make_app, fake_pushover, caplog, path_of, form, content_type, status):
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    ask(client, "EmergencyIntent")
    (receipt,) = fake_pushover.receipts
    real = callback_path(fake_pushover)
    genuine = {"receipt": receipt, "acknowledged": "1", "acknowledged_at": "1780000000", "acknowledged_by": USER,
               "acknowledged_by_device": "pixel3"}  # fmt: skip
    data = {**genuine, **(form or {})}
    if content_type:
        response = client.post(path_of(real), data=str(data), content_type=content_type)
    else:
        response = client.post(path_of(real), data=data)
    assert response.status_code == status
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged")
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused POST /pushover/callback/")]
    assert refusals and all(r.levelno == logging.WARNING for r in refusals)
    secret = skill_of(app).callback_secret
    assert secret and secret not in caplog.text


def test_the_callback_only_takes_post_and_only_with_public_url(make_app, fake_pushover):
    app = make_app()  # no PUBLIC_URL: no callback is handed out, none is accepted
    client = app.test_client()
    ask(client, "EmergencyIntent")
    assert "callback" not in fake_pushover.requests_to("messages")[0].form
    assert client.post("/pushover/callback/anything", data={"receipt": "x"}).status_code == 404
    with_callbacks = make_app(public_url=PUBLIC_URL)
    secret = skill_of(with_callbacks).callback_secret
    assert with_callbacks.test_client().get(f"/pushover/callback/{secret}").status_code == 405


def test_without_callbacks_status_polls_pushover(make_app, fake_pushover):
    app = make_app()
    clock = Clock()
    skill_of(app).receipts.clock = clock
    client = app.test_client()
    ask(client, "EmergencyIntent")
    (receipt,) = fake_pushover.receipts
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged")
    fake_pushover.acknowledge(receipt, device="iphone", at=int(clock.now) + 60)
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged")  # the answer is cached
    clock.now += POLL_CACHE_S
    assert ask(client, "AlertStatusIntent").endswith("was acknowledged on iphone, one minute after it was sent.")
    assert ask(client, "TemplatedStatusIntent").startswith("iphone at ")
    assert len(fake_pushover.requests_to("receipt")) == 2


def test_status_names_the_person_from_people(tmp_path, fake_pushover, monkeypatch):
    """``people:`` names who acknowledged: the callback's user key is the value of a person's ``user_env``."""
    path = write(tmp_path, MAP + "people:\n  Paulus:\n    user_env: PAULUS_PUSHOVER_USER\n", "people.yaml")
    settings = make_settings(
        fake_pushover, intent_map_path=str(path), alexa_verify=False, outbox_path=str(tmp_path / "o.sqlite3"),
        public_url=PUBLIC_URL, timezone="UTC", environ={"PAULUS_PUSHOVER_USER": USER},
    )  # fmt: skip
    app = create_app({"TESTING": True, "SETTINGS": settings})
    try:
        client = app.test_client()
        ask(client, "EmergencyIntent")
        (receipt,) = fake_pushover.receipts
        client.post(callback_path(fake_pushover), data=fake_pushover.acknowledge(receipt, device="pixel3"))
        said = ask(client, "AlertStatusIntent")
        assert said.startswith("Paulus acknowledged your alert from ") and " on pixel3, " in said
        assert ask(client, "TemplatedStatusIntent").startswith("Paulus at ")
    finally:
        skill_of(app).close()


def test_healthz_shows_open_alerts(make_app, fake_pushover):
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    assert client.get("/healthz").get_json()["alerts"] == {"open": [], "acknowledgements": "callback"}
    ask(client, "EmergencyIntent")
    (alert,) = client.get("/healthz").get_json()["alerts"]["open"]
    assert alert["intent"] == "EmergencyIntent" and alert["devices"] == ["pixel3"]
    assert alert["sent_at"].endswith("Z") and alert["expires_at"] > alert["sent_at"]
    assert skill_of(app).callback_secret not in client.get("/healthz").get_data(as_text=True)


def test_launch_can_keep_quiet_about_open_alerts(make_app, fake_pushover):
    client = make_app(launch_open_alerts=False).test_client()
    ask(client, "EmergencyIntent")
    assert ask(client, None, "LaunchRequest") == "Family notes here."


def test_the_callback_secret_survives_a_restart_and_is_never_logged_in_full(make_app, fake_pushover, caplog):
    caplog.set_level(logging.DEBUG)
    first = make_app(public_url=PUBLIC_URL)
    secret = skill_of(first).callback_secret
    skill_of(first).close()
    second = make_app(public_url=PUBLIC_URL)
    assert skill_of(second).callback_secret == secret
    client = second.test_client()
    ask(client, "EmergencyIntent")
    (receipt,) = fake_pushover.receipts
    client.post(callback_path(fake_pushover), data=fake_pushover.acknowledge(receipt))
    assert secret not in caplog.text
    assert f"/pushover/callback/{secret[:4]}…" in caplog.text


# --------------------------------------------------------------------------- the map


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("alert_status: NoSuchIntent", "AlertStatusIntent.alert_status: no intent 'NoSuchIntent' in this map"),
        ("alert_status: [EmergencyIntent]", "AlertStatusIntent.alert_status must name the intent"),
        ("alert_status: EmergencyIntent\n        notify: {message: hi}", "alert_status answers a question"),
    ],
)
def test_the_map_refuses_an_alert_status_that_cannot_work(body, message):
    from skill.errors import ConfigError
    from tests.helpers import parse

    text = f"""
    intents:
      EmergencyIntent:
        notify: {{message: "Help!", priority: 2, retry: 30, expire: 300}}
      AlertStatusIntent:
        {body}
    """
    with pytest.raises(ConfigError, match=message) as caught:
        parse(text)
    assert caught.value.problems[0].line == 5


def test_the_map_warns_when_the_reported_intent_sends_no_emergency_alert():
    from tests.helpers import parse

    imap = parse("""
    intents:
      ShoppingIntent:
        notify: {message: "Milk"}
      AlertStatusIntent:
        alert_status: ShoppingIntent
        speech: "{{ acknowledged_by }} {{ sent_at }} {{ state }}"
    """)
    assert imap.intents["AlertStatusIntent"].alert_status == "ShoppingIntent"
    (warning,) = imap.warnings
    assert "sends no priority 2 alert" in warning.message  # and the status names raise no warning


def test_the_status_template_names_are_the_ones_the_context_has():
    from skill.intent_map.spec import ALERT_STATUS_NAMES
    from skill.receipts.speech import status_context

    assert set(status_context(None, 0, "en-US", None)) == ALERT_STATUS_NAMES


def test_a_reloaded_map_keeps_the_receipts(make_app, fake_pushover, map_path):
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    ask(client, "EmergencyIntent")
    first = skill_of(app).service
    Path(map_path).write_text(Path(map_path).read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    skill_of(app).holder.reload()
    assert skill_of(app).service is not first  # a new generation …
    assert skill_of(app).service.receipts is skill_of(app).receipts  # … with the same receipts
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged")


def test_an_alert_the_outbox_delivers_later_keeps_its_receipt(make_app, fake_pushover):
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    fake_pushover.enqueue(endpoint="messages", status=503)
    assert ask(client, "EmergencyIntent") == "Pushover isn't answering right now; I'll keep trying."
    assert ask(client, "AlertStatusIntent") == "There's no recent alert."
    outbox = skill_of(app).outbox
    assert outbox.run_once(now=outbox.next_due()) == 1
    (receipt,) = fake_pushover.receipts
    assert fake_pushover.requests_to("messages")[-1].form["callback"].startswith(PUBLIC_URL)
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged")
    client.post(callback_path(fake_pushover), data=fake_pushover.acknowledge(receipt, device="iphone"))
    assert " was acknowledged on iphone" in ask(client, "AlertStatusIntent")


def test_an_alert_accepted_after_the_deadline_keeps_its_receipt(make_app, fake_pushover):
    """The send still runs when the answer goes out (Pushover accepts it late): status and callback know it."""
    app = make_app(public_url=PUBLIC_URL)
    client = app.test_client()
    fake_pushover.slow(None)  # accepts the alert, answers only after up(): past the request's deadline
    assert ask(client, "EmergencyIntent") == "Pushover isn't answering right now; I'll keep trying."
    outbox = skill_of(app).outbox
    assert outbox.depth() == 1  # held while its send runs
    fake_pushover.up()  # Pushover's late "accepted", with the receipt
    deadline = time.monotonic() + 10
    while outbox.depth() and time.monotonic() < deadline:  # bounded: the late end settles the row
        time.sleep(0.02)
    assert outbox.depth() == 0
    (receipt,) = fake_pushover.receipts
    assert len(fake_pushover.requests_to("messages")) == 1  # one alert, not a retried second one
    assert ask(client, "AlertStatusIntent").startswith("Nobody has acknowledged the alert from ")
    response = client.post(callback_path(fake_pushover), data=fake_pushover.acknowledge(receipt, device="pixel3"))
    assert response.status_code == 200
    assert " was acknowledged on pixel3, " in ask(client, "AlertStatusIntent")
