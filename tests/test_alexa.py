"""The ASK SDK layer: every request type gets an answer a person understands, as Alexa expects it."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from skill.alexa import build_request_envelope, build_skill, invoke, parse_envelope
from skill.errors import InvalidRequestError
from skill.service import Service, Status
from tests.helpers import make_service, run, speech

FIXTURES = Path(__file__).parent / "fixtures"

MAP = """
launch:
  speech: "Hello from family notes."
intents:
  LocateIntent:
    slots:
      User: FamilyMember
    samples: ["where is {User}"]
    notify:
      message: "Where is {{ User }} ({{ User_Id }})"
    speech: "Asked {{ User }}."
slot_types:
  FamilyMember:
    values:
      - {value: Paulus, id: paulus, synonyms: [paulie]}
"""


@pytest.fixture
def service():
    svc = make_service(MAP)
    yield svc
    svc.close()


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_real_envelope_with_several_authorities_uses_the_one_match(service):
    result = invoke(build_skill(service), parse_envelope((FIXTURES / "locate_intent.json").read_bytes()))
    (delivery,) = result.outcomes[0].deliveries
    assert delivery.message.message == "Where is Paulus (paulus)"
    assert speech(result) == "Asked Paulus."
    assert result.response["response"]["shouldEndSession"] is True


def test_several_matches_fall_back_to_the_spoken_value_and_keep_the_first_id(service):
    # Home Assistant's resolve_slot_data: the value is what was heard, the id the first match's.
    result = invoke(build_skill(service), load("ambiguous_slot.json"))
    assert result.outcomes[0].deliveries[0].message.message == "Where is paul (paulus)"


@pytest.mark.parametrize(
    ("request_type", "intent", "expected", "ends"),
    [
        ("LaunchRequest", None, "Hello from family notes.", False),
        ("IntentRequest", "AMAZON.HelpIntent", "I send notifications to your phones with Pushover. You can say", False),
        ("IntentRequest", "AMAZON.StopIntent", "Goodbye.", True),
        ("IntentRequest", "AMAZON.CancelIntent", "Goodbye.", True),
        ("IntentRequest", "AMAZON.NavigateHomeIntent", "Goodbye.", True),
        ("IntentRequest", "AMAZON.FallbackIntent", "Sorry, I can't help with that.", False),
        ("IntentRequest", "OrderPizzaIntent", "Sorry, I don't know what to do for order pizza.", True),
    ],
)
def test_built_in_requests(service, request_type, intent, expected, ends):
    result = run(service, intent, request_type=request_type)
    assert speech(result).startswith(expected)
    assert result.response["response"].get("shouldEndSession", False) is ends
    if not ends:
        assert result.response["response"]["reprompt"]["outputSpeech"]["ssml"].startswith("<speak>")


def test_german_built_ins(service):
    assert speech(run(service, "AMAZON.StopIntent", locale="de-DE")) == "Tschüss."
    assert speech(run(service, "NixIntent", locale="de-DE")) == "Ich weiß leider nicht, was ich für nix tun soll."


def test_session_ended_gets_an_empty_response(service):
    result = run(service, request_type="SessionEndedRequest")
    assert result.response["response"] == {}


def test_other_request_types_get_an_empty_response(service):
    result = run(service, request_type="AlexaSkillEvent.SkillEnabled")
    assert "outputSpeech" not in result.response["response"]


def test_help_names_real_examples(service):
    assert speech(run(service, "AMAZON.HelpIntent")) == (
        "I send notifications to your phones with Pushover. You can say: where is user."
    )


@pytest.mark.parametrize("value", ["Tom & Jerry", "<audio src='x'/>", "a < b > c", "\"quotes\" 'and' ]]>"])
def test_speech_is_valid_ssml_whatever_was_said(service, value):
    result = run(service, "LocateIntent", {"User": value})
    ssml = result.response["response"]["outputSpeech"]["ssml"]
    root = ET.fromstring(ssml)
    assert root.tag == "speak"
    assert "".join(root.itertext()) == f"Asked {value}."


def test_unexpected_exception_speaks_safe_words_and_logs_the_traceback(caplog):
    class Broken(Service):
        def handle_intent(self, *args, **kwargs):
            raise RuntimeError("boom")

    service = Broken(make_service(MAP).intent_map, make_service(MAP).settings)
    with caplog.at_level(logging.ERROR):
        result = run(service, "LocateIntent", {"User": "x"})
    assert speech(result) == "Sorry, something went wrong. Please try again."
    assert any(r.exc_info for r in caplog.records)
    service.close()


def test_elicit_and_confirm_directives():
    text = """
    intents:
      A:
        slots:
          Who: {type: AMAZON.FirstName, required: true, prompt: "Who?"}
        confirm: "Really send to {{ Who }}?"
        notify: {message: "hi {{ Who }}"}
    """
    service = make_service(text)
    first = run(service, "A", dialog_state="STARTED")
    (directive,) = first.response["response"]["directives"]
    assert directive["type"] == "Dialog.ElicitSlot" and directive["slotToElicit"] == "Who"
    assert first.outcomes[0].status == Status.ELICIT_SLOT
    second = run(service, "A", {"Who": "Ann"}, dialog_state="IN_PROGRESS")
    assert second.response["response"]["directives"][0]["type"] == "Dialog.ConfirmIntent"
    assert speech(second) == "Really send to Ann?"
    denied = run(service, "A", {"Who": "Ann"}, dialog_state="COMPLETED", confirmation="DENIED")
    assert speech(denied) == "OK, I won't send it." and denied.outcomes[0].deliveries == []
    done = run(service, "A", {"Who": "Ann"}, dialog_state="COMPLETED", confirmation="CONFIRMED")
    assert done.outcomes[0].deliveries[0].message.message == "hi Ann"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "the body is not valid JSON"),
        (b"[1, 2]", "the body is not a JSON object"),
        (b"{}", "not an Alexa request: no request object"),
        (b'{"version": 1, "request": {}}', "not an Alexa request: version is not text"),
        (b'{"version": "1.0"}', "not an Alexa request: no request object"),
        (b'{"version": "1.0", "request": {"type": "LaunchRequest"}}', "request.requestId is missing"),
        (
            b'{"version": "1.0", "request": {"type": "IntentRequest", "requestId": "r", "timestamp": "t"}}',
            "an IntentRequest needs intent.name",
        ),
        (
            b'{"version": "1.0", "request": {"type": "IntentRequest", "requestId": "r", "timestamp": "t",'
            b' "intent": {"name": "A", "slots": {"x": 3}}}}',
            "intent.slots must map names to objects",
        ),
        (b"[" * 100_000, "the body is not valid JSON"),
    ],
)
def test_malformed_envelopes_are_refused_with_a_reason(body, reason):
    with pytest.raises(InvalidRequestError, match=reason.replace("(", r"\(")):
        parse_envelope(body)


def test_envelope_with_wrong_types_deep_inside_is_invalid_not_a_crash(service):
    envelope = load("locate_intent.json")
    envelope["request"]["intent"]["slots"]["User"]["resolutions"] = "nonsense"
    with pytest.raises(InvalidRequestError, match="does not fit Alexa's request format"):
        invoke(build_skill(service), envelope)


def test_help_examples_come_from_the_same_language_only():
    service = make_service(
        """
        intents:
          A:
            samples: {en-US: ["ping the phone"], de-DE: ["klingel das telefon"]}
            notify: {message: hi}
        """
    )
    assert speech(run(service, "AMAZON.HelpIntent", locale="en-GB")).endswith("You can say: ping the phone.")
    assert speech(run(service, "AMAZON.HelpIntent", locale="de-AT")).endswith("Du kannst sagen: klingel das telefon.")
    assert "ping" not in speech(run(service, "AMAZON.HelpIntent", locale="fr-FR"))


@pytest.mark.parametrize(
    ("escaped", "refused"),
    [
        ("\\ud800", True),
        ("\\uDFFF", True),
        ("x\\uD83D", True),  # half of a pair
        ("\\ud83d\\ude00", False),  # a whole pair: an emoji
        ("\\\\ud800", False),  # an escaped backslash, then text
        ("\\u00e9t\\u00e9", False),
    ],
)
def test_an_escaped_lone_surrogate_is_refused_in_bytes_and_in_text(escaped: str, refused: bool):
    envelope = json.loads(json.dumps(build_request_envelope("IntentRequest", "LocateIntent", {"User": "P"})))
    text = json.dumps(envelope).replace('"value": "P"', f'"value": "{escaped}"')
    assert escaped in text
    for body in (text, text.encode()):
        if refused:
            with pytest.raises(InvalidRequestError, match="not valid Unicode"):
                parse_envelope(body)
        else:
            assert parse_envelope(body)["request"]["intent"]["slots"]["User"]["value"] == json.loads(f'"{escaped}"')
