"""Home Assistant's own Alexa tests, ported: their configurations, envelopes and expected answers, our skill.

The cases come from home-assistant/core:

- ``tests/components/alexa/test_intent.py`` (current; cited as ``alexa/test_intent.py::<test>``),
- ``tests/components/test_alexa.py`` (the older component test; ``test_alexa.py::TestAlexa.<test>``),
- ``tests/components/intent_script/test_init.py`` (``intent_script/test_init.py::<test>``).

Every envelope is posted to the real skill, once through the web endpoint (Flask's test client on
``/alexa``, verification off) and once through the Lambda handler, with Pushover at the fake server.

Where this skill differs on purpose, the test says so and checks what Alexa would say:

- Speech is always SSML (``outputSpeech.type == "SSML"``) where Home Assistant answers PlainText: the
  same words, escaped so that nothing a person says can become markup.
- Home Assistant's service calls (``test.alexa``, ``test.service``) cannot exist here: the only
  actions are notifications. The ported cases call ``notify.notify`` with the same template in
  ``message`` and check what reached Pushover; the verbatim action is refused at load, with the reason.
- Left out, because what they test cannot exist here: device states (``is_state``/``states`` in
  ``WhereAreWeIntent``), service responses (``response_variable``, ``stop``), entity/area/floor
  registries (``test_intent_script_targets``) and Home Assistant's reload service (``test_reload``).
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill import lambda_function
from skill.errors import ConfigError
from skill.web import create_app, skill_of
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import make_service, parse

SESSION_ID = "amzn1.echo-api.session.0000000-0000-0000-0000-00000000000"
APPLICATION_ID = "amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00ebe"
APPLICATION_ID_SESSION_OPEN = "amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00ebf"
REQUEST_ID = "amzn1.echo-api.request.0000000-0000-0000-0000-00000000000"
AUTHORITY_ID = "amzn1.er-authority.000000-d0ed-0000-ad00-000000d00ebe.ZODIAC"
BUILTIN_AUTH_ID = "amzn1.er-authority.000000-d0ed-0000-ad00-000000d00ebe.TEST"
USER_ID = "amzn1.account.AM3B00000000000000000000000"
HOROSCOPE_ATTRIBUTES = {"supportedHoroscopePeriods": {"daily": True, "weekly": False, "monthly": False}}

#: alexa/test_intent.py's fixture ``alexa_client``: ``alexa: {}`` and ``homeassistant: {}`` beside
#: ``intent_script:``. WhereAreWeIntent reads device states and is left out; CallServiceIntent calls
#: ``notify.notify`` instead of ``test.alexa`` (with ``message`` for ``hello``, and no ``entity_id``).
INTENT_CONFIG = f"""
homeassistant: {{}}
alexa: {{}}
intent_script:
  GetZodiacHoroscopeIntent:
    speech: {{type: plain, text: "You told us your sign is {{{{ ZodiacSign }}}}."}}
  GetZodiacHoroscopeIDIntent:
    speech: {{type: plain, text: "You told us your sign is {{{{ ZodiacSign_Id }}}}."}}
  "AMAZON.PlaybackAction<object@MusicCreativeWork>":
    speech: {{type: plain, text: "Playing {{{{ object_byArtist_name }}}}."}}
  CallServiceIntent:
    speech: {{type: plain, text: "Service called for {{{{ ZodiacSign }}}}"}}
    card:
      type: simple
      title: "Card title for {{{{ ZodiacSign }}}}"
      content: "Card content: {{{{ ZodiacSign }}}}"
    action:
      service: notify.notify
      data_template: {{message: "{{{{ ZodiacSign }}}}"}}
  {APPLICATION_ID}:
    speech: {{type: plain, text: LaunchRequest has been received.}}
  {APPLICATION_ID_SESSION_OPEN}:
    speech: {{type: plain, text: LaunchRequest has been received.}}
    reprompt: {{type: plain, text: LaunchRequest has been received.}}
"""

#: test_alexa.py's setUpModule: the legacy ``alexa: intents:`` block with ``type: plaintext``; the same
#: two changes as above.
OLD_CONFIG = """
homeassistant: {}
alexa:
  intents:
    GetZodiacHoroscopeIntent:
      speech: {type: plaintext, text: "You told us your sign is {{ ZodiacSign }}."}
    CallServiceIntent:
      speech: {type: plaintext, text: Service called}
      action:
        service: notify.notify
        data_template: {message: "{{ ZodiacSign }}"}
"""

#: intent_script/test_init.py: three of its configurations in one file, ``test.service`` as notify.notify.
SCRIPT_CONFIG = """
intent_script:
  HelloWorld:
    description: Intent to control a test service.
    platforms: [switch]
    action:
      service: notify.notify
      data_template: {message: "{{ name }}"}
    card: {title: "Hello {{ name }}", content: "Content for {{ name }}"}
    speech: {text: "Good morning {{ name }}"}
  HelloWorldWaitResponse:
    action:
      service: notify.notify
      data_template: {message: "{{ name }}"}
    card: {title: "Hello {{ name }}", content: "Content for {{ name }}"}
    speech: {text: "Good morning {{ name }}"}
    reprompt: {text: "I didn't hear you, {{ name }}... I said good morning!"}
  HelloWorldFalsyReprompt:
    action:
      service: notify.notify
      data_template: {message: "{{ name }}"}
    card: {title: "Hello {{ name }}", content: "Content for {{ name }}"}
    speech:
      type: ssml
      text: '<speak><amazon:effect name="whispered">Good morning {{ name }}</amazon:effect></speak>'
    reprompt: {text: "{{ null }}"}
"""

Post = Callable[[dict[str, Any]], dict[str, Any]]


# --------------------------------------------------------------------------- the two hosts


@pytest.fixture(params=["web", "lambda"])
def host(request, tmp_path: Path, fake_pushover: FakePushover, monkeypatch) -> Iterator[Callable[[str], Post]]:
    """``host(config)`` -> ``post(envelope)``: the answer of the web endpoint or of the Lambda handler."""
    closers: list[Callable[[], None]] = []

    def start(config: str) -> Post:
        path = tmp_path / "configuration.yaml"
        path.write_text(textwrap.dedent(config), encoding="utf-8")
        if request.param == "web":
            service = make_service(parse(path.read_text(), str(path)), fake_pushover)
            settings = service.settings.with_overrides(alexa_verify=False, outbox_path=str(tmp_path / "outbox.db"))
            app = create_app({"TESTING": True, "SETTINGS": settings, "SERVICE": service})
            closers.append(skill_of(app).close)
            client = app.test_client()

            def post_web(envelope: dict[str, Any]) -> dict[str, Any]:
                response = client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
                assert response.status_code == 200, response.get_data(as_text=True)
                return response.get_json()

            return post_web
        for name in ("ALEXA_SKILL_ID", "PUSHOVER_SECRET_ID", "PUSHOVER_TOKEN_PARAMETER", "PUSHOVER_USER_PARAMETER"):
            monkeypatch.delenv(name, raising=False)
        for name, value in {
            "INTENT_MAP": str(path), "PUSHOVER_API_URL": fake_pushover.url, "PUSHOVER_TOKEN": TOKEN,
            "PUSHOVER_USER": USER, "DRY_RUN": "0",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        lambda_function._reset_for_tests()
        closers.append(lambda_function._reset_for_tests)
        return lambda envelope: lambda_function.handler(json.loads(json.dumps(envelope)), None)

    yield start
    for close in closers:
        close()


def envelope(request: dict[str, Any], *, new: bool = False, app: str = APPLICATION_ID, attributes=None) -> dict:
    """An envelope as Home Assistant's tests write them (no context; session as Alexa's first versions sent it)."""
    return {
        "version": "1.0",
        "session": {
            "new": new,
            "sessionId": SESSION_ID,
            "application": {"applicationId": app},
            "attributes": HOROSCOPE_ATTRIBUTES if attributes is None else attributes,
            "user": {"userId": USER_ID},
        },
        "request": {"requestId": REQUEST_ID, "timestamp": "2015-05-13T12:34:56Z", **request},
    }


def launch(app: str) -> dict:
    return envelope({"type": "LaunchRequest"}, new=True, app=app, attributes={})


def intent(name: str, slots: dict[str, Any] | None = None, **kw: Any) -> dict:
    body: dict[str, Any] = {"name": name}
    if slots is not None:
        body["slots"] = slots
    return envelope({"type": "IntentRequest", "intent": body}, **kw)


def said(answer: dict[str, Any], key: str = "outputSpeech") -> str:
    """What Alexa says. Deliberate difference: SSML where Home Assistant sends PlainText (same words)."""
    speech = answer["response"][key] if key == "outputSpeech" else answer["response"][key]["outputSpeech"]
    assert speech["type"] == "SSML"
    return html.unescape(re.sub(r"<[^>]+>", "", speech["ssml"]))


def zodiac(value: str | None = None, *authorities: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    slot: dict[str, Any] = {"name": "ZodiacSign"}
    if value is not None:
        slot["value"] = value
    if authorities:
        slot["resolutions"] = {
            "resolutionsPerAuthority": [
                {"authority": authority, "status": {"code": code}, "values": [{"value": found}]}
                for authority, code, found in authorities
            ]
        }
    return {"ZodiacSign": slot}


# --------------------------------------------------------------------------- alexa/test_intent.py


def test_intent_launch_request(host):
    """alexa/test_intent.py::test_intent_launch_request"""
    answer = host(INTENT_CONFIG)(launch(APPLICATION_ID))
    assert said(answer) == "LaunchRequest has been received."
    assert answer["response"]["shouldEndSession"]


def test_intent_launch_request_with_session_open(host):
    """alexa/test_intent.py::test_intent_launch_request_with_session_open"""
    answer = host(INTENT_CONFIG)(launch(APPLICATION_ID_SESSION_OPEN))
    assert said(answer) == "LaunchRequest has been received."
    assert said(answer, "reprompt") == "LaunchRequest has been received."
    assert not answer["response"]["shouldEndSession"]


def test_intent_launch_request_not_configured(host):
    """alexa/test_intent.py::test_intent_launch_request_not_configured

    Deliberate difference: Home Assistant says "This intent is not yet configured within Home
    Assistant."; a skill opened without a launch answer greets the person and listens.
    """
    answer = host(INTENT_CONFIG)(launch("amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00000"))
    assert said(answer) == "Welcome. Tell me what to send, or say help."
    assert not answer["response"]["shouldEndSession"]


def test_intent_request_with_slots(host):
    """alexa/test_intent.py::test_intent_request_with_slots"""
    answer = host(INTENT_CONFIG)(intent("GetZodiacHoroscopeIntent", zodiac("virgo")))
    assert said(answer) == "You told us your sign is virgo."


def test_intent_request_with_slots_and_synonym_resolution(host):
    """alexa/test_intent.py::test_intent_request_with_slots_and_synonym_resolution"""
    slots = zodiac(
        "V zodiac",
        (AUTHORITY_ID, "ER_SUCCESS_MATCH", {"name": "Virgo"}),
        (BUILTIN_AUTH_ID, "ER_SUCCESS_NO_MATCH", {"name": "Test"}),
    )
    answer = host(INTENT_CONFIG)(intent("GetZodiacHoroscopeIntent", slots))
    assert said(answer) == "You told us your sign is Virgo."


def test_intent_request_with_slots_and_synonym_id_resolution(host):
    """alexa/test_intent.py::test_intent_request_with_slots_and_synonym_id_resolution"""
    slots = zodiac("V zodiac", (AUTHORITY_ID, "ER_SUCCESS_MATCH", {"name": "Virgo", "id": "1"}))
    answer = host(INTENT_CONFIG)(intent("GetZodiacHoroscopeIDIntent", slots))
    assert said(answer) == "You told us your sign is 1."


def test_intent_request_with_slots_and_multi_synonym_id_resolution(host):
    """alexa/test_intent.py::test_intent_request_with_slots_and_multi_synonym_id_resolution"""
    slots = zodiac(
        "Virgio Test",
        (AUTHORITY_ID, "ER_SUCCESS_MATCH", {"name": "Virgio Test", "id": "2"}),
        (AUTHORITY_ID, "ER_SUCCESS_MATCH", {"name": "Virgo", "id": "1"}),
    )
    answer = host(INTENT_CONFIG)(intent("GetZodiacHoroscopeIDIntent", slots))
    assert said(answer) == "You told us your sign is 2."


def test_intent_request_with_slots_and_multi_synonym_resolution(host):
    """alexa/test_intent.py::test_intent_request_with_slots_and_multi_synonym_resolution"""
    slots = zodiac(
        "V zodiac",
        (AUTHORITY_ID, "ER_SUCCESS_MATCH", {"name": "Virgo"}),
        (BUILTIN_AUTH_ID, "ER_SUCCESS_MATCH", {"name": "Test"}),
    )
    answer = host(INTENT_CONFIG)(intent("GetZodiacHoroscopeIntent", slots))
    assert said(answer) == "You told us your sign is V zodiac."


def test_intent_request_with_slots_but_no_value(host):
    """alexa/test_intent.py::test_intent_request_with_slots_but_no_value"""
    answer = host(INTENT_CONFIG)(intent("GetZodiacHoroscopeIntent", zodiac()))
    assert said(answer) == "You told us your sign is ."


# alexa/test_intent.py::test_intent_request_without_slots is left out: WhereAreWeIntent answers from
# device states (is_state, states), which do not exist outside Home Assistant.


def test_intent_request_calling_service(host, fake_pushover: FakePushover):
    """alexa/test_intent.py::test_intent_request_calling_service, with notify.notify for test.alexa"""
    answer = host(INTENT_CONFIG)(intent("CallServiceIntent", zodiac("virgo"), attributes={}))
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == "virgo"
    assert answer["response"]["card"] == {
        "type": "Simple",
        "title": "Card title for virgo",
        "content": "Card content: virgo",
    }
    assert said(answer) == "Service called for virgo"


def test_intent_request_calling_another_service_is_refused_at_load():
    """alexa/test_intent.py::test_intent_request_calling_service, verbatim: not a notification, so refused."""
    verbatim = INTENT_CONFIG.replace("service: notify.notify", "service: test.alexa").replace(
        'data_template: {message: "{{ ZodiacSign }}"}',
        'data_template: {hello: "{{ ZodiacSign }}"}\n      entity_id: switch.test',
    )
    with pytest.raises(ConfigError) as err:
        parse(verbatim)
    messages = [p.message for p in err.value.problems]
    assert "CallServiceIntent.action: only notify actions can be run here, not 'test.alexa'" in messages[0]


def test_intent_session_ended_request(host):
    """alexa/test_intent.py::test_intent_session_ended_request

    Deliberate difference: Home Assistant speaks "This intent is not yet configured within Home
    Assistant."; Alexa speaks nothing after a session ends, so the answer is empty.
    """
    request = {"type": "SessionEndedRequest", "reason": "USER_INITIATED"}
    answer = host(INTENT_CONFIG)(envelope(request))
    assert "outputSpeech" not in answer["response"]


def test_intent_from_built_in_intent_library(host):
    """alexa/test_intent.py::test_intent_from_built_in_intent_library (its envelope has no "version")"""
    names = ["composer.name", "contentSource", "era", "genre", "name", "owner.name", "select", "sort"]
    slots = {f"object.{n}": {"name": f"object.{n}"} for n in names}
    slots["object.byArtist.name"] = {"name": "object.byArtist.name", "value": "the shins"}
    slots["object.type"] = {"name": "object.type", "value": "music"}
    data = {
        "request": {
            "intent": {"name": "AMAZON.PlaybackAction<object@MusicCreativeWork>", "slots": slots},
            "timestamp": "2016-12-14T23:23:37Z",
            "type": "IntentRequest",
            "requestId": REQUEST_ID,
        },
        "session": {"sessionId": SESSION_ID, "application": {"applicationId": APPLICATION_ID}},
    }
    assert said(host(INTENT_CONFIG)(data)) == "Playing the shins."


# --------------------------------------------------------------------------- test_alexa.py (older)


def test_old_launch_request(host):
    """test_alexa.py::TestAlexa.test_launch_request (an answer with speech)"""
    answer = host(OLD_CONFIG)(launch(APPLICATION_ID))
    assert "outputSpeech" in answer["response"]


def test_old_intent_request_with_slots(host):
    """test_alexa.py::TestAlexa.test_intent_request_with_slots"""
    answer = host(OLD_CONFIG)(intent("GetZodiacHoroscopeIntent", zodiac("virgo")))
    assert said(answer) == "You told us your sign is virgo."


def test_old_intent_request_with_slots_but_no_value(host):
    """test_alexa.py::TestAlexa.test_intent_request_with_slots_but_no_value"""
    answer = host(OLD_CONFIG)(intent("GetZodiacHoroscopeIntent", zodiac()))
    assert said(answer) == "You told us your sign is ."


# test_alexa.py::TestAlexa.test_intent_request_without_slots is left out: device states, as above.


def test_old_intent_request_calling_service(host, fake_pushover: FakePushover):
    """test_alexa.py::TestAlexa.test_intent_request_calling_service, with notify.notify for test.alexa"""
    answer = host(OLD_CONFIG)(intent("CallServiceIntent", zodiac("virgo"), attributes={}))
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == ["virgo"]
    assert said(answer) == "Service called"


def test_old_session_ended_request(host):
    """test_alexa.py::TestAlexa.test_session_ended_request

    Deliberate difference: Home Assistant answered with an empty body; Alexa expects a response
    envelope, so the answer is one with nothing to say.
    """
    answer = host(OLD_CONFIG)(envelope({"type": "SessionEndedRequest", "reason": "USER_INITIATED"}))
    assert answer["version"] == "1.0" and "outputSpeech" not in answer["response"]


# --------------------------------------------------------------------------- intent_script/test_init.py


def test_intent_script(host, fake_pushover: FakePushover):
    """intent_script/test_init.py::test_intent_script (description and platforms are accepted)"""
    answer = host(SCRIPT_CONFIG)(intent("HelloWorld", {"name": {"name": "name", "value": "Paulus"}}))
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == ["Paulus"]
    assert said(answer) == "Good morning Paulus"
    assert "reprompt" not in answer["response"]
    assert answer["response"]["card"] == {"type": "Simple", "title": "Hello Paulus", "content": "Content for Paulus"}


def test_intent_script_wait_response(host, fake_pushover: FakePushover):
    """intent_script/test_init.py::test_intent_script_wait_response"""
    answer = host(SCRIPT_CONFIG)(intent("HelloWorldWaitResponse", {"name": {"name": "name", "value": "Paulus"}}))
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == ["Paulus"]
    assert said(answer) == "Good morning Paulus"
    assert said(answer, "reprompt") == "I didn't hear you, Paulus... I said good morning!"
    assert answer["response"]["shouldEndSession"] is False
    assert answer["response"]["card"] == {"type": "Simple", "title": "Hello Paulus", "content": "Content for Paulus"}


# intent_script/test_init.py::test_intent_script_service_response is left out: service responses
# (response_variable, stop, action_response) do not exist for Pushover notifications.


def test_intent_script_falsy_reprompt(host, fake_pushover: FakePushover):
    """intent_script/test_init.py::test_intent_script_falsy_reprompt"""
    answer = host(SCRIPT_CONFIG)(intent("HelloWorldFalsyReprompt", {"name": {"name": "name", "value": "Paulus"}}))
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == ["Paulus"]
    assert answer["response"]["outputSpeech"] == {
        "type": "SSML",
        "ssml": '<speak><amazon:effect name="whispered">Good morning Paulus</amazon:effect></speak>',
    }
    assert "reprompt" not in answer["response"]
    assert answer["response"]["shouldEndSession"] is True
    assert answer["response"]["card"] == {"type": "Simple", "title": "Hello Paulus", "content": "Content for Paulus"}


# intent_script/test_init.py::test_intent_script_targets is left out: it resolves entities, areas and
# floors from Home Assistant's registries. ::test_reload is left out: Home Assistant's reload service.
