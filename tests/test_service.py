"""The whole core against a fake Pushover server: what arrives there and what the person hears."""

from __future__ import annotations

import logging
import os
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from skill.alexa import resolved_slot
from skill.phrases import phrase
from skill.render import cut_ssml
from skill.service import Service, Status
from tests.fake_pushover import TOKEN, USER, closed_port
from tests.ha_examples import HA_PUSHOVER_DOCS
from tests.helpers import PNG, make_service, make_settings, parse, run, speech

HA_EMERGENCY = """
alexa:
  intents:
    EmergencyIntent:
      action:
        action: notify.notify
        data:
          message: "Emergency!"
          title: "Home Assistant"
          target: [iphone11pro]
          data:
            priority: 2
            sound: siren
            expire: 300
            retry: 30
      speech:
        type: plain
        text: "Alert sent"
"""

DEVICE_MAP = """
slot_types:
  DeviceName:
    values:
      - value: pixel3
        id: PX3
        synonyms: [pixel three]
intents:
  SendIntent:
    slots:
      Device: DeviceName
      Text: AMAZON.SearchQuery
      Picture: AMAZON.SearchQuery
    notify:
      message: "{{ Text }}"
      target: "{{ Device }}"
      attachment: "{{ Picture }}"
    speech: "Sent to {{ devices | join(' and ') }}"
  PictureIntent:
    slots:
      Name: AMAZON.SearchQuery
      Dir: AMAZON.SearchQuery
    notify:
      message: "Picture {{ Name }}"
      attachment: "{{ Dir }}/{{ Name }}.png"
"""


@pytest.fixture
def image_in_tmp():
    """The HA docs example attaches /tmp/image.png: put a real PNG there for the test."""
    path = Path("/tmp/image.png")
    existed = path.exists()
    if not existed:
        path.write_bytes(PNG)
    yield path
    if not existed:
        path.unlink()


def test_ha_docs_example_sends_exactly_these_fields(fake_pushover, image_in_tmp):
    service = make_service(HA_PUSHOVER_DOCS, fake_pushover, attachment_dirs=("/tmp",))
    result = run(service, "LocateIntent", {"User": "Paulus"})
    (request,) = fake_pushover.requests_to("messages")
    assert request.form == {
        "token": TOKEN,
        "user": USER,
        "message": "The location of Paulus has been queried via Alexa.",
        "title": "Home Assistant",
        "device": "pixel",
        "sound": "falling",
        "url": "https://www.home-assistant.io/",
    }
    filename, content_type, data = request.files["attachment"]
    assert (filename, content_type) == ("image.png", "image/png")
    assert data == image_in_tmp.read_bytes()
    assert speech(result) == "OK, I sent the notification."
    assert result.outcomes[0].status == Status.SENT


def test_ha_docs_example_without_allowed_dirs_sends_without_the_picture_and_says_why(fake_pushover):
    service = make_service(HA_PUSHOVER_DOCS, fake_pushover)
    result = run(service, "LocateIntent", {"User": "Paulus"})
    (request,) = fake_pushover.requests_to("messages")
    assert "attachment" not in request.files
    assert result.outcomes[0].status == Status.ATTACHMENT_DROPPED
    said = speech(result)
    assert said.startswith("OK, I sent the notification. I sent it without the picture, because")
    assert "ATTACHMENT_DIRS" in said or "allowed" in said


def test_ha_emergency_example_sends_its_values_and_keeps_the_receipt(fake_pushover):
    service = make_service(HA_EMERGENCY, fake_pushover)
    result = run(service, "EmergencyIntent")
    form = fake_pushover.last.form
    assert {k: form[k] for k in ("priority", "sound", "expire", "retry", "device")} == {
        "priority": "2",
        "sound": "siren",
        "expire": "300",
        "retry": "30",
        "device": "iphone11pro",
    }
    assert form["tags"] == "alexa-emergencyintent"
    (delivery,) = result.outcomes[0].deliveries
    assert delivery.receipt and delivery.request_id
    assert speech(result) == "Alert sent"


def test_list_target_joins_devices_with_commas(fake_pushover):
    service = make_service("intents: {A: {notify: {message: hi, target: [pixel3, pixel4a]}}}", fake_pushover)
    run(service, "A")
    assert fake_pushover.last.form["device"] == "pixel3,pixel4a"


def test_slot_template_syntax_arrives_as_typed(fake_pushover):
    service = make_service(
        'intents: {A: {notify: {message: "Note: {{ Text }}"}, speech: "Noted {{ Text }}"}}', fake_pushover
    )
    result = run(service, "A", {"Text": "{{ 7*7 }} & <b>{% raw %}"})
    assert fake_pushover.last.form["message"] == "Note: {{ 7*7 }} & <b>{% raw %}"
    assert speech(result) == "Noted {{ 7*7 }} & <b>{% raw %}"
    assert "&amp; &lt;b&gt;" in result.response["response"]["outputSpeech"]["ssml"]


def test_entity_resolution_synonym_collapses_to_the_canonical_device(fake_pushover):
    service = make_service(DEVICE_MAP, fake_pushover)
    slot = resolved_slot("Device", "pixel three", "pixel3", "PX3")
    result = run(service, "SendIntent", {"Device": slot, "Text": "dinner"})
    assert fake_pushover.last.form["device"] == "pixel3"
    assert speech(result) == "Sent to pixel3"


def test_spoken_device_name_is_matched_forgivingly(fake_pushover):
    service = make_service(DEVICE_MAP, fake_pushover)
    run(service, "SendIntent", {"Device": "Pixel 4a", "Text": "hi"})
    assert fake_pushover.requests_to("messages")[-1].form["device"] == "pixel4a"


@pytest.mark.parametrize("spoken", [",", " , ", ",,", ""])
def test_a_device_slot_naming_no_device_sends_nothing_and_says_so(fake_pushover, spoken):
    service = make_service(DEVICE_MAP, fake_pushover)
    result = run(service, "SendIntent", {"Device": spoken, "Text": "hi"})
    assert fake_pushover.requests_to("messages") == []
    assert result.outcomes[0].status == Status.UNKNOWN_DEVICE
    assert speech(result) == (
        "I didn't catch which device to send it to, so I sent nothing. Your devices are pixel3, pixel4a and iphone."
    )
    assert "isn't answering" not in speech(result)


def test_unknown_device_sends_nothing_and_names_the_devices(fake_pushover):
    service = make_service(DEVICE_MAP, fake_pushover)
    result = run(service, "SendIntent", {"Device": "kitchen", "Text": "hi"})
    assert fake_pushover.requests_to("messages") == []
    assert result.outcomes[0].status == Status.UNKNOWN_DEVICE
    assert speech(result) == "I don't know a device called kitchen. Your devices are pixel3, pixel4a and iphone."


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "a/../../x"])
def test_path_pieces_from_speech_never_attach_outside_the_allowed_dir(fake_pushover, tmp_path, name):
    allowed = tmp_path / "pictures"
    allowed.mkdir()
    (allowed / "cat.png").write_bytes(PNG)
    imap = parse(DEVICE_MAP.replace("{{ Dir }}", str(allowed)))
    service = Service(imap, make_settings(fake_pushover, attachment_dirs=(str(allowed),)))
    result = run(service, "PictureIntent", {"Name": name})
    (request,) = fake_pushover.requests_to("messages")
    assert request.files == {}
    assert result.outcomes[0].status == Status.ATTACHMENT_DROPPED
    run(service, "PictureIntent", {"Name": "cat"})
    assert fake_pushover.requests_to("messages")[-1].files["attachment"][2] == PNG


FAILURES = [
    pytest.param(
        {"status": 400, "errors": ["application token is invalid"]},
        Status.REFUSED,
        "Pushover refused the notification: application token is invalid. Please check the skill's Pushover keys.",
        1,
        id="400",
    ),
    pytest.param(
        {"status": 429, "headers": {"X-Limit-App-Remaining": "0"}},
        Status.QUOTA,
        "Pushover's monthly message limit for this skill is used up, so nothing was sent.",
        1,
        id="429",
    ),
    pytest.param(
        {"status": 500},
        Status.UNAVAILABLE,
        "Pushover isn't answering right now, so the notification was not sent. Please try again later.",
        1,
        id="500",
    ),
    pytest.param(
        {"status": 502, "body": b"<html>Bad gateway</html>", "content_type": "text/html"},
        Status.UNAVAILABLE,
        "Pushover isn't answering right now, so the notification was not sent. Please try again later.",
        1,
        id="502-html",
    ),
    pytest.param(
        {"delay": 2.0},
        Status.UNAVAILABLE,
        phrase("en-US", "unconfirmed"),
        1,
        id="slow",
    ),
    pytest.param(
        {"close": True},
        Status.UNAVAILABLE,
        phrase("en-US", "unconfirmed"),
        1,
        id="dropped-connection",
    ),
]


@pytest.mark.parametrize(("reply", "status", "said", "attempts"), FAILURES)
def test_every_pushover_failure_has_its_speech_and_attempt_count(fake_pushover, caplog, reply, status, said, attempts):
    service = make_service("intents: {A: {notify: {message: hi}, speech: Done}}", fake_pushover, read_timeout_s=0.5)
    fake_pushover.enqueue(**reply)
    with caplog.at_level(logging.DEBUG):
        result = run(service, "A")
    assert result.outcomes[0].status == status
    assert speech(result) == said
    assert len(fake_pushover.requests_to("messages")) == attempts
    assert not any(r.exc_info for r in caplog.records)
    assert all(TOKEN not in r.getMessage() and USER not in r.getMessage() for r in caplog.records)


def test_closed_port_is_unavailable_and_nothing_crashes():
    service = make_service(
        "intents: {A: {notify: {message: hi}}}",
        pushover_api_url=closed_port(),
        pushover_token=TOKEN,
        pushover_user=USER,
        dry_run=False,
    )
    result = run(service, "A")
    assert result.outcomes[0].status == Status.UNAVAILABLE
    assert "isn't answering" in speech(result)


def test_missing_credentials_are_heard_and_logged_by_name(caplog):
    service = make_service("intents: {A: {notify: {message: hi}}}", dry_run=False, pushover_token=TOKEN)
    with caplog.at_level(logging.ERROR):
        result = run(service, "A")
    assert speech(result) == "This skill is not set up yet: its Pushover keys are missing."
    assert "set PUSHOVER_USER" in caplog.text
    assert TOKEN not in caplog.text


def test_named_notifier_uses_its_own_variables(fake_pushover):
    text = """
    notifiers:
      family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
    intents:
      A: {notify: {notifier: family, message: hi}}
    """
    other_token = "bOtherAppTokenQ7w3r9t1y5u2i8o4"
    fake_pushover.tokens.add(other_token)
    environ = {"FAMILY_TOKEN": other_token, "FAMILY_USER": USER}
    service = make_service(text, fake_pushover, environ=environ)
    run(service, "A")
    assert fake_pushover.last.form["token"] == other_token


def test_default_confirmation_when_no_speech_is_configured(fake_pushover):
    service = make_service(
        "intents: {A: {notify: [{message: one}, {message: two}]}, B: {notify: {message: b}}}", fake_pushover
    )
    assert speech(run(service, "A")) == "OK, I sent 2 notifications."
    assert speech(run(service, "B")) == "OK, I sent the notification."
    sent = [r.form["message"] for r in fake_pushover.requests_to("messages")]
    assert sorted(sent[:2]) == ["one", "two"] and sent[2:] == ["b"]  # one request's notifications go out at once


def test_dry_run_sends_nothing_and_says_so(fake_pushover):
    service = make_service("intents: {A: {notify: {message: hi}}}", fake_pushover, dry_run=True)
    assert service.dry_run
    result = run(service, "A")
    assert fake_pushover.requests == []
    assert speech(result) == "OK. I'm in test mode, so I didn't really send it."


def test_cancel_alerts_by_tag_says_how_many(fake_pushover):
    text = """
    intents:
      PanicIntent: {notify: {message: help, priority: 2, retry: 30, expire: 300}}
      CalmIntent: {cancel_alerts: PanicIntent}
    """
    service = make_service(text, fake_pushover)
    run(service, "PanicIntent")
    run(service, "PanicIntent")
    result = run(service, "CalmIntent")
    assert fake_pushover.last.path == "/1/receipts/cancel_by_tag/alexa-panicintent.json"
    assert speech(result) == "I stopped 2 alerts."
    assert speech(run(service, "CalmIntent")) == "There was no alert to stop."


def test_unknown_intent_is_spoken(fake_pushover):
    service = make_service("intents: {A: {notify: {message: hi}}}", fake_pushover)
    result = run(service, "TurnOnTheLightsIntent")
    assert speech(result) == "Sorry, I don't know what to do for turn on the lights."
    assert fake_pushover.requests == []


def test_render_failure_is_heard_and_sends_nothing(fake_pushover):
    service = make_service('intents: {A: {notify: {message: hi, title: "{{ Text }}"}}}', fake_pushover)
    result = run(service, "A", {"Text": "t" * 300})
    assert speech(result) == (
        "I couldn't put that notification together: the title is longer than Pushover allows (250 characters)."
    )
    assert fake_pushover.requests == []


def test_secrets_never_reach_logs_or_reprs(fake_pushover, caplog):
    service = make_service(DEVICE_MAP, fake_pushover)
    with caplog.at_level(logging.DEBUG):
        run(service, "SendIntent", {"Device": "pixel3", "Text": "hi"})
        run(service, "SendIntent", {"Device": "kitchen", "Text": "hi"})
        fake_pushover.enqueue(status=400, errors=[f"user key {USER} is invalid"])
        result = run(service, "SendIntent", {"Device": "pixel3", "Text": "hi"})
    texts = [r.getMessage() for r in caplog.records] + [repr(service.settings), repr(service.client), speech(result)]
    for text in texts:
        assert TOKEN not in text and USER not in text
    assert os.environ.get("PUSHOVER_TOKEN") != TOKEN


def test_device_check_failing_transiently_never_sends_unchecked_names(fake_pushover):
    service = make_service(DEVICE_MAP, fake_pushover)
    fake_pushover.enqueue(status=500, endpoint="validate")
    result = run(service, "SendIntent", {"Device": "kitchen", "Text": "hi"})
    assert fake_pushover.requests_to("messages") == []
    assert result.outcomes[0].status == Status.UNAVAILABLE
    assert "isn't answering" in speech(result)


@pytest.mark.parametrize(
    "intent",
    [
        "intents: {A: {confirm: '{{ 1 // Zero }}', notify: {message: hi}}}",
        "intents: {A: {slots: {Who: {type: AMAZON.FirstName, required: true, prompt: '{{ 1 // Zero }}'}},"
        " notify: {message: hi}}}",
        "intents: {A: {cancel_alerts: {tag: '{{ 1 // Zero }}'}}}",
    ],
    ids=["confirm-prompt", "slot-prompt", "cancel-tag"],
)
def test_a_failing_prompt_or_tag_template_is_a_clear_sentence_not_an_apology(fake_pushover, intent):
    service = make_service(intent.replace("Zero", "0"), fake_pushover)
    result = run(service, "A", dialog_state="STARTED")
    assert result.outcomes[0].status == Status.RENDER_FAILED
    assert speech(result).startswith("I couldn't put that notification together: a template failed")
    assert fake_pushover.requests == []


def test_speech_can_list_what_was_sent(fake_pushover):
    text = """
    intents:
      A:
        notify: [{message: one, target: pixel3}, {message: two, target: iphone}]
        speech: "Sent {{ notifications | length }}: {% for n in notifications %}{{ n.params.device }} {% endfor %}"
    """
    service = make_service(text, fake_pushover)
    assert speech(run(service, "A")) == "Sent 2: pixel3 iphone"


NAMED_ONLY = """
notifiers:
  family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
intents:
  A: {notify: {notifier: family, message: hi}}
"""


def test_a_map_of_named_notifiers_sends_without_the_default_keys(fake_pushover):
    from skill.config import load_settings

    settings = load_settings({"PUSHOVER_API_URL": fake_pushover.url, "FAMILY_TOKEN": TOKEN, "FAMILY_USER": USER})
    assert settings.dry_run  # no PUSHOVER_TOKEN/PUSHOVER_USER ...
    service = Service(parse(NAMED_ONLY), settings)
    assert not service.dry_run  # ... but the only notifier the map uses can send
    assert speech(run(service, "A")) == "OK, I sent the notification."
    assert fake_pushover.last.form["message"] == "hi"
    service.close()


def test_asking_for_a_dry_run_wins_over_configured_notifiers(fake_pushover):
    from skill.config import load_settings

    settings = load_settings({"FAMILY_TOKEN": TOKEN, "FAMILY_USER": USER}, dry_run=True, dry_run_requested=True)
    service = Service(parse(NAMED_ONLY), settings)
    assert service.dry_run
    service.close()


# --------------------------------------------------------------------------- what Alexa may say


def _ssml(result):
    return result.response["response"]["outputSpeech"]["ssml"]


def test_an_unknown_intent_name_is_spoken_as_text_not_markup():
    service = make_service("intents: {A: {notify: {message: hi}}}")
    name = 'X<audio src="https://evil.example/a.mp3"/>Intent'
    result = run(service, name)
    ssml = _ssml(result)
    assert "<audio" not in ssml and "&lt;audio" in ssml
    ET.fromstring(ssml)  # still well-formed SSML


@pytest.mark.parametrize("value", ["word " * 2000, "x" * 10_000, "<b>&amp;</b> " * 1000])
def test_a_huge_slot_value_gives_speech_within_alexas_limit(fake_pushover, value):
    service = make_service(
        'intents: {A: {notify: {message: "{{ Text | truncate(100) }}"}, speech: "Noted {{ Text }}", '
        'reprompt: "Again {{ Text }}?", end_session: false, card: {title: "T {{ Text }}", content: "{{ Text }}"}}}',
        fake_pushover,
    )
    result = run(service, "A", {"Text": value})
    response = result.response["response"]
    for ssml in (response["outputSpeech"]["ssml"], response["reprompt"]["outputSpeech"]["ssml"]):
        assert 7000 < len(ssml) <= 8000
        ET.fromstring(ssml)
        assert ssml.startswith("<speak>") and ssml.endswith("…</speak>")
    assert len(response["card"]["title"]) + len(response["card"]["content"]) <= 8000
    assert len(fake_pushover.requests_to("messages")) == 1


def test_ssml_markup_of_the_map_stays_valid_when_cut():
    assert cut_ssml("short <break/>", 5) == "shor…"
    body = '<prosody rate="slow">' + "word <break time='1s'/> " * 1000 + "</prosody>"
    cut = cut_ssml(body, 500)
    assert len(cut) <= 500 and cut.endswith("…</prosody>")
    ET.fromstring(f"<speak>{cut}</speak>")


def test_the_parts_made_on_first_use_are_made_once_when_requests_race_to_them(fake_pushover):
    """Client, loader and sender come with the first request that needs them: one of each, however many race."""
    service = make_service(HA_EMERGENCY, fake_pushover)
    barrier = threading.Barrier(8)
    seen: list[tuple[object, object, object]] = []

    def first_request() -> None:
        barrier.wait(5.0)
        seen.append((service.sender, service.client, service.loader))

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10.0)
    try:
        assert len(seen) == 8 and len(set(seen)) == 1
        assert service.sender.service is service and service.client is seen[0][1]
    finally:
        service.close()
