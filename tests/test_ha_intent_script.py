"""intent_script/test_init.py of Home Assistant (home-assistant/core, tests/components), ported.

Same configurations and expected answers, posted as Alexa envelopes to the web endpoint and the
Lambda handler (tests/ha_peer.py); ``test.service`` is ``notify.notify`` here and what it would have
received is checked at the fake Pushover server. Speech is SSML where Home Assistant answers
PlainText (same words). Left out, because what they test cannot exist here: service responses
(``test_intent_script_service_response``), entity/area/floor registries (``test_intent_script_targets``)
and Home Assistant's reload service (``test_reload``).
"""

from __future__ import annotations

from tests.fake_pushover import FakePushover
from tests.ha_peer import host, intent, said

__all__ = ["host"]  # the fixture, imported for pytest

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
