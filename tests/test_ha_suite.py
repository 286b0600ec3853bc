"""Home Assistant's own Alexa tests, ported: their configurations, envelopes and expected answers, our skill.

The cases come from home-assistant/core:

- ``tests/components/alexa/test_intent.py`` (current; cited as ``alexa/test_intent.py::<test>``),
- ``tests/components/test_alexa.py`` (the older component test; ``test_alexa.py::TestAlexa.<test>``),
- ``tests/components/intent_script/test_init.py``: in tests/test_ha_intent_script.py.

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

import pytest

from skill.errors import ConfigError
from tests.fake_pushover import FakePushover
from tests.ha_peer import (
    APPLICATION_ID,
    APPLICATION_ID_SESSION_OPEN,
    AUTHORITY_ID,
    BUILTIN_AUTH_ID,
    REQUEST_ID,
    SESSION_ID,
    envelope,
    host,
    intent,
    launch,
    said,
    zodiac,
)
from tests.helpers import parse

__all__ = ["host"]  # the fixture, imported for pytest


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


#: INTENT_CONFIG with the entry Home Assistant runs when the skill's session ends (alexa/intent.py passes
#: the request's ``reason`` and ``error`` to it as variables); its action notifies instead of a service call.
SESSION_END_CONFIG = (
    INTENT_CONFIG
    + f"""\
  {APPLICATION_ID}.SessionEndedRequest:
    speech: {{type: plain, text: "Goodbye ({{{{ reason }}}})"}}
    action:
      service: notify.notify
      data_template:
        message: >-
          Session ended: {{{{ reason }}}}
          {{%- if error %}} ({{{{ error.type }}}}: {{{{ error.message }}}}){{% endif %}}
"""
)


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"reason": "USER_INITIATED"}, "Session ended: USER_INITIATED"),
        ({"reason": "EXCEEDED_MAX_REPROMPTS"}, "Session ended: EXCEEDED_MAX_REPROMPTS"),
        (
            {"reason": "ERROR", "error": {"type": "INVALID_RESPONSE", "message": "bad <speak>"}},
            "Session ended: ERROR (INVALID_RESPONSE: bad <speak>)",
        ),
    ],
)
def test_intent_session_ended_request_runs_the_session_end_entry(host, fake_pushover, request_fields, message):
    """alexa/intent.py (async_handle_intent): a SessionEndedRequest runs ``<applicationId>.SessionEndedRequest``.

    Deliberate difference: Home Assistant answers with the entry's speech, which Alexa never speaks
    after a session has ended; the answer here is empty. The notification is sent as the entry says.
    """
    answer = host(SESSION_END_CONFIG)(envelope({"type": "SessionEndedRequest", **request_fields}))
    assert "outputSpeech" not in answer["response"] and "reprompt" not in answer["response"]
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == [message]


def test_another_skills_session_end_runs_nothing(host, fake_pushover):
    """Only the entry named by the ending skill's applicationId runs (a launch answer's rule, too)."""
    request = {"type": "SessionEndedRequest", "reason": "USER_INITIATED"}
    answer = host(SESSION_END_CONFIG)(envelope(request, app=APPLICATION_ID_SESSION_OPEN))
    assert "outputSpeech" not in answer["response"]
    assert fake_pushover.requests_to("messages") == []


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
