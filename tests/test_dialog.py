"""Multi-turn dialogs and locales, end to end: envelopes in, the fake Pushover server as the only witness."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from skill.__main__ import main
from skill.alexa import Result, build_request_envelope, build_skill, invoke, resolved_slot
from skill.intent_map import load_intent_map
from skill.service import Service
from tests.fake_pushover import FakePushover
from tests.helpers import make_settings, parse

EXAMPLE = Path(__file__).resolve().parents[1] / "intents.yaml"

MAP = """
invocation_name: {en-US: house notes, de-DE: haus notizen}
slot_types:
  DeviceName:
    values:
      - {value: pixel3, synonyms: [pixel three]}
      - iphone
intents:
  MessageDeviceIntent:
    samples: {en-US: ["send {Text} to {Device}"], de-DE: ["sende {Text} an {Device}"]}
    slots:
      Device:
        type: DeviceName
        required: true
        prompt: {en-US: "Which device?", de-DE: "An welches Gerät?"}
      Text:
        type: AMAZON.SearchQuery
        required: true
        prompt: {en-US: "What should it say?", de-DE: "Was soll drinstehen?"}
    confirm: {en-US: "Send {{ Text }} to {{ Device }}?", de-DE: "{{ Text }} an {{ Device }} senden?"}
    notify:
      message: "{{ Text }}"
      target: "{{ Device }}"
    speech: {en-US: "Sent to {{ devices | join(' and ') }}.", de-DE: "An {{ devices | join(' und ') }} gesendet."}
"""

#: Alexa sends every slot of the intent, the unfilled ones without a value.
EMPTY = {"confirmationStatus": "NONE"}


class Conversation:
    """One skill, one fake Pushover server, and the turns of a dialog."""

    def __init__(self, service: Service, fake: FakePushover, locale: str = "en-US") -> None:
        self.skill = build_skill(service)
        self.fake = fake
        self.locale = locale

    def say(
        self,
        intent: str,
        slots: Mapping[str, Any],
        *,
        state: str | None,
        confirmation: str = "NONE",
        first: bool = False,
    ) -> Result:
        envelope = build_request_envelope(
            "IntentRequest", intent, slots, locale=self.locale, dialog_state=state, confirmation=confirmation,
            new_session=first,
        )  # fmt: skip
        return invoke(self.skill, envelope)

    @property
    def sent(self) -> list[dict[str, str]]:
        return [r.form for r in self.fake.requests_to("messages")]


@pytest.fixture
def service(fake_pushover: FakePushover) -> Iterator[Service]:
    svc = Service(parse(MAP), make_settings(fake_pushover))
    yield svc
    svc.close()


@pytest.fixture
def example(fake_pushover: FakePushover) -> Iterator[Service]:
    svc = Service(load_intent_map(EXAMPLE), make_settings(fake_pushover))
    yield svc
    svc.close()


def spoken(result: Result, key: str = "outputSpeech") -> str:
    body = result.response["response"]
    output = body.get(key) or {}
    if key == "reprompt":
        output = output.get("outputSpeech") or {}
    return html.unescape(re.sub(r"<[^>]+>", "", output.get("ssml", ""))).strip()


def directive(result: Result) -> dict[str, Any]:
    (only,) = result.response["response"]["directives"]
    return only


def device(spoken_value: str, canonical: str) -> dict[str, Any]:
    return resolved_slot("Device", spoken_value, canonical)


# --------------------------------------------------------------------------- elicitation and confirmation


def test_required_slots_are_asked_for_then_confirmed_then_sent_once(service, fake_pushover):
    talk = Conversation(service, fake_pushover)

    first = talk.say("MessageDeviceIntent", {"Device": EMPTY, "Text": EMPTY}, state="STARTED", first=True)
    assert directive(first)["type"] == "Dialog.ElicitSlot"
    assert directive(first)["slotToElicit"] == "Device"
    assert directive(first)["updatedIntent"]["name"] == "MessageDeviceIntent"
    assert spoken(first) == spoken(first, "reprompt") == "Which device?"
    assert first.response["response"]["shouldEndSession"] is False
    assert talk.sent == []

    second = talk.say(
        "MessageDeviceIntent", {"Device": device("pixel three", "pixel3"), "Text": EMPTY}, state="IN_PROGRESS"
    )
    assert directive(second)["slotToElicit"] == "Text"
    assert directive(second)["updatedIntent"]["slots"]["Device"]["value"] == "pixel three"
    assert spoken(second) == "What should it say?"
    assert talk.sent == []

    filled = {"Device": device("pixel three", "pixel3"), "Text": "dinner is ready"}
    third = talk.say("MessageDeviceIntent", filled, state="IN_PROGRESS")
    assert directive(third)["type"] == "Dialog.ConfirmIntent"
    assert spoken(third) == "Send dinner is ready to pixel3?"
    assert third.response["response"]["shouldEndSession"] is False
    assert talk.sent == []

    last = talk.say("MessageDeviceIntent", filled, state="COMPLETED", confirmation="CONFIRMED")
    assert "directives" not in last.response["response"]
    assert spoken(last) == "Sent to pixel3."
    assert last.response["response"]["shouldEndSession"] is True
    (message,) = talk.sent
    assert message["message"] == "dinner is ready"
    assert message["device"] == "pixel3"


def test_a_denied_confirmation_sends_nothing(service, fake_pushover):
    talk = Conversation(service, fake_pushover)
    filled = {"Device": device("iphone", "iphone"), "Text": "hello"}
    asked = talk.say("MessageDeviceIntent", filled, state="STARTED", first=True)
    assert directive(asked)["type"] == "Dialog.ConfirmIntent"
    denied = talk.say("MessageDeviceIntent", filled, state="COMPLETED", confirmation="DENIED")
    assert spoken(denied) == "OK, I won't send it."
    assert denied.response["response"]["shouldEndSession"] is True
    assert fake_pushover.requests == []


def test_the_whole_dialog_in_german(service, fake_pushover):
    talk = Conversation(service, fake_pushover, "de-DE")
    first = talk.say("MessageDeviceIntent", {"Device": EMPTY, "Text": EMPTY}, state="STARTED", first=True)
    assert spoken(first) == "An welches Gerät?"
    filled = {"Device": device("pixel three", "pixel3"), "Text": "Essen ist fertig"}
    assert spoken(talk.say("MessageDeviceIntent", filled, state="IN_PROGRESS")) == "Essen ist fertig an pixel3 senden?"
    denied = talk.say("MessageDeviceIntent", filled, state="COMPLETED", confirmation="DENIED")
    assert spoken(denied) == "OK, ich sende sie nicht."
    assert talk.sent == []
    done = talk.say("MessageDeviceIntent", filled, state="COMPLETED", confirmation="CONFIRMED")
    assert spoken(done) == "An pixel3 gesendet."
    assert [m["message"] for m in talk.sent] == ["Essen ist fertig"]


def test_a_slot_filled_in_the_first_utterance_is_not_asked_for(service, fake_pushover):
    talk = Conversation(service, fake_pushover)
    result = talk.say("MessageDeviceIntent", {"Device": device("iphone", "iphone"), "Text": EMPTY}, state="STARTED")
    assert directive(result)["slotToElicit"] == "Text"


def test_example_locate_intent_elicits_the_user_then_sends(example, fake_pushover):
    talk = Conversation(example, fake_pushover)
    asked = talk.say("LocateIntent", {"User": EMPTY}, state="STARTED", first=True)
    assert directive(asked)["slotToElicit"] == "User"
    assert spoken(asked) == "Whom should I locate?"
    assert talk.sent == []
    done = talk.say("LocateIntent", {"User": "Paulus"}, state="IN_PROGRESS")
    assert spoken(done) == "OK, I asked Paulus's phone where it is."
    (message,) = talk.sent
    assert message["message"] == "The location of Paulus has been queried via Alexa."
    assert (message["title"], message["device"], message["sound"]) == ("Home Assistant", "pixel", "falling")


def test_example_emergency_intent_is_confirmed_before_the_alert(example, fake_pushover):
    talk = Conversation(example, fake_pushover)
    asked = talk.say("EmergencyIntent", {}, state="STARTED", first=True)
    assert directive(asked)["type"] == "Dialog.ConfirmIntent"
    assert spoken(asked).startswith("This sends an emergency alert")
    assert talk.sent == []
    done = talk.say("EmergencyIntent", {}, state="IN_PROGRESS", confirmation="CONFIRMED")
    assert spoken(done) == "Alert sent. It will repeat every 30 seconds for 5 minutes until someone acknowledges it."
    (message,) = talk.sent
    assert (message["priority"], message["retry"], message["expire"]) == ("2", "30", "300")
    assert len(fake_pushover.receipts) == 1


def test_simulate_shows_each_turn(capsys, monkeypatch):
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP"):
        monkeypatch.delenv(name, raising=False)
    argv = ["simulate", "--intent-map", str(EXAMPLE), "EmergencyIntent", "--locale", "de-DE"]
    assert main([*argv, "--dialog-state", "STARTED"]) == 0
    out = capsys.readouterr().out
    assert "Directive:  Dialog.ConfirmIntent" in out and "Notification" not in out
    assert main([*argv, "--dialog-state", "IN_PROGRESS", "--confirm", "no"]) == 0
    assert "Alexa says: OK, ich sende sie nicht." in capsys.readouterr().out
    assert main([*argv, "--dialog-state", "IN_PROGRESS", "--confirm", "yes"]) == 0
    out = capsys.readouterr().out
    assert "Alexa says: Notruf gesendet." in out and "Notification 1" in out


# --------------------------------------------------------------------------- locales

LOCALIZED = """
intents:
  NoteIntent:
    slots: {Text: AMAZON.SearchQuery}
    notify:
      message: {en-US: "Note: {{ Text }}", de-DE: "Notiz: {{ Text }}", default: "Nota: {{ Text }}"}
      title: {en-US: Family, de: Familie}
    speech: {en-US: "Noted.", de-DE: "Notiert.", default: "OK."}
    reprompt: {en: "Anything else?", de-DE: "Noch etwas?"}
    card:
      title: {en-US: Notes, de-DE: Notizen}
      content: "{{ Text }}"
"""


@pytest.mark.parametrize(
    ("locale", "message", "title", "speech", "reprompt", "card"),
    [
        ("en-US", "Note: x", "Family", "Noted.", "Anything else?", "Notes"),
        ("de-DE", "Notiz: x", "Familie", "Notiert.", "Noch etwas?", "Notizen"),
        # same language first: en-GB takes en-US (or the bare "en"), de-AT takes de-DE (or "de")
        ("en-GB", "Note: x", "Family", "Noted.", "Anything else?", "Notes"),
        ("de-AT", "Notiz: x", "Familie", "Notiert.", "Noch etwas?", "Notizen"),
        # another language: "default", then en-US, then the first given
        ("fr-FR", "Nota: x", "Family", "OK.", "Anything else?", "Notes"),
    ],
)
def test_the_request_locale_picks_every_template(fake_pushover, locale, message, title, speech, reprompt, card):
    service = Service(parse(LOCALIZED), make_settings(fake_pushover))
    talk = Conversation(service, fake_pushover, locale)
    result = talk.say("NoteIntent", {"Text": "x"}, state=None, first=True)
    service.close()
    (sent,) = talk.sent
    assert (sent["message"], sent["title"]) == (message, title)
    assert (spoken(result), spoken(result, "reprompt")) == (speech, reprompt)
    assert result.response["response"]["card"] == {"type": "Simple", "title": card, "content": "x"}


# --------------------------------------------------------------------------- built-in answers in German


def german(service: Service, request_type: str, intent: str | None = None) -> Result:
    return invoke(build_skill(service), build_request_envelope(request_type, intent, locale="de-DE"))


@pytest.mark.parametrize(
    ("request_type", "intent", "expected"),
    [
        ("LaunchRequest", None, "Willkommen. Sag mir, was ich senden soll, oder sag Hilfe."),
        ("IntentRequest", "AMAZON.HelpIntent", "Ich sende Benachrichtigungen mit Pushover an deine Telefone. "
                                               "Du kannst sagen: sende text an device."),
        ("IntentRequest", "AMAZON.StopIntent", "Tschüss."),
        ("IntentRequest", "AMAZON.CancelIntent", "Tschüss."),
        ("IntentRequest", "AMAZON.FallbackIntent", "Das kann ich leider nicht. Sag Hilfe, um zu hören, was ich kann."),
        ("IntentRequest", "WeatherIntent", "Ich weiß leider nicht, was ich für weather tun soll."),
    ],
)  # fmt: skip
def test_german_builtin_answers(service, request_type, intent, expected):
    assert spoken(german(service, request_type, intent)) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"status": 400, "errors": ["message is too long"]},
         "Pushover hat die Benachrichtigung abgelehnt: message is too long."),
        ({"status": 429},
         "Das monatliche Nachrichtenlimit bei Pushover ist aufgebraucht, deshalb wurde nichts gesendet."),
        ({"status": 500}, "Pushover antwortet gerade nicht, die Benachrichtigung wurde nicht gesendet."),
    ],
)  # fmt: skip
def test_german_error_answers(fake_pushover, reply, expected):
    service = Service(parse(LOCALIZED), make_settings(fake_pushover))
    fake_pushover.enqueue(endpoint="messages", **reply)
    result = Conversation(service, fake_pushover, "de-DE").say("NoteIntent", {"Text": "x"}, state=None, first=True)
    service.close()
    assert spoken(result).startswith(expected)


def test_german_answer_when_not_configured():
    service = Service(parse(LOCALIZED), make_settings(None, dry_run=False))
    result = invoke(
        build_skill(service), build_request_envelope("IntentRequest", "NoteIntent", {"Text": "x"}, locale="de-DE")
    )
    service.close()
    assert spoken(result) == "Dieser Skill ist noch nicht eingerichtet: die Pushover-Schlüssel fehlen."


def test_german_words_when_something_breaks(caplog):
    class Broken(Service):
        def handle_intent(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    service = Broken(parse(LOCALIZED), make_settings(None))
    with caplog.at_level(logging.CRITICAL):
        result = german(service, "IntentRequest", "NoteIntent")
    service.close()
    assert spoken(result) == "Entschuldigung, da ist etwas schiefgegangen. Bitte versuch es noch einmal."
