"""Home Assistant YAML as people have it (issue 12): each form that used to be refused, through the real skill."""

from __future__ import annotations

import json

import pytest

from skill.__main__ import main
from skill.alexa import build_request_envelope, build_skill, invoke, parse_envelope
from skill.errors import ConfigError
from skill.intent_map.names import is_application_id, is_intent_name
from skill.model import generate_models
from tests.fake_pushover import FakePushover
from tests.helpers import make_service, parse, run, speech

OLD_SKILL = "amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00ebe"
NEW_SKILL = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
OTHER_SKILL = "amzn1.ask.skill.99999999-0000-0000-0000-000000000000"
LIBRARY_INTENT = "AMAZON.PlaybackAction<object@MusicCreativeWork>"

PING = """
intent_script:
  PingIntent:
    action:
      action: notify.notify
      data: {message: ping}
    speech: {type: plain, text: Pinged}
"""


def response_of(result) -> dict:
    return result.response["response"]


# --------------------------------------------------------------------------- 1. type: plaintext


def test_plaintext_speech_type_is_plain_text():
    svc = make_service(
        """
        intent_script:
          Hello:
            speech: {type: plaintext, text: "Fish & chips for {{ Who }}"}
            reprompt: {type: plaintext, text: "More?"}
        """
    )
    result = run(svc, "Hello", {"Who": "<b>Ann</b>"})
    assert speech(result) == "Fish & chips for <b>Ann</b>"
    # Plain text is escaped into SSML, as `plain` is: the person's words are never markup.
    assert "&lt;b&gt;" in response_of(result)["outputSpeech"]["ssml"]
    assert response_of(result)["reprompt"]["outputSpeech"]["ssml"] == "<speak>More?</speak>"


def test_other_speech_types_are_still_refused():
    with pytest.raises(ConfigError, match="type must be plain or ssml, not 'text'"):
        parse("intent_script:\n  A:\n    speech: {type: text, text: hi}\n")


# --------------------------------------------------------------------------- 2. alexa: beside intent_script:


@pytest.mark.parametrize(
    ("alexa", "ignored"),
    [
        ("alexa:", []),
        ("alexa: {}", []),
        ("alexa:\n  smart_home: {}", ["alexa.smart_home"]),
        (
            "alexa:\n  flash_briefings:\n    password: x\n    news:\n      - title: N\n        text: T\n"
            "  smart_home:\n    locale: en-US",
            ["alexa.flash_briefings", "alexa.smart_home"],
        ),
    ],
    ids=["empty", "braces", "smart_home", "flash_briefings"],
)
def test_alexa_that_only_switches_the_endpoint_on(alexa, ignored):
    imap = parse(alexa + "\n" + PING)
    assert imap.form == "intent_script"
    assert list(imap.intents) == ["PingIntent"]
    assert imap.warnings == []
    assert imap.blocks_used == ["alexa (switches the endpoint on)", "intent_script"]
    assert imap.blocks_ignored == ignored


def test_unrelated_keys_inside_alexa_warn_and_do_not_fail():
    imap = parse("alexa:\n  smart_home: {}\n  color: blue\n" + PING)
    assert list(imap.intents) == ["PingIntent"]
    (warning,) = imap.warnings
    assert (warning.line, warning.message) == (3, "ignoring alexa.color (only alexa.intents is used here)")


def test_alexa_alone_without_intents_still_says_what_is_missing():
    with pytest.raises(ConfigError) as err:
        parse("alexa: {}\n")
    assert [p.message for p in err.value.problems] == ["alexa: needs an intents: block"]


def test_alexa_intents_and_intent_script_together_use_both():
    imap = parse("alexa:\n  intents:\n    Old:\n      speech: old\n" + PING)
    assert imap.form == "alexa"
    assert set(imap.intents) == {"Old", "PingIntent"}
    assert imap.blocks_used == ["alexa.intents", "intent_script"]


# --------------------------------------------------------------------------- 3. launch answers by applicationId

LAUNCH_MAP = f"""
alexa:
intent_script:
  {OLD_SKILL}:
    speech: {{type: plain, text: "LaunchRequest has been received."}}
  {NEW_SKILL}:
    action:
      action: notify.notify
      data: {{message: "Someone opened the skill ({{{{ intent_name }}}})", title: Launch}}
    speech: "Welcome back."
    reprompt: "What should I send?"
  PingIntent:
    speech: Pinged
"""


def test_each_skill_id_has_its_own_launch_answer(fake_pushover: FakePushover):
    svc = make_service(LAUNCH_MAP, fake_pushover)
    old = run(svc, request_type="LaunchRequest", application_id=OLD_SKILL)
    assert speech(old) == "LaunchRequest has been received."
    assert response_of(old)["shouldEndSession"] is True  # speech and no reprompt: as Home Assistant
    assert fake_pushover.requests_to("messages") == []
    new = run(svc, request_type="LaunchRequest", application_id=NEW_SKILL)
    assert speech(new) == "Welcome back."
    assert response_of(new)["reprompt"]["outputSpeech"]["ssml"] == "<speak>What should I send?</speak>"
    assert response_of(new)["shouldEndSession"] is False
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == f"Someone opened the skill ({NEW_SKILL})"
    assert sent.form["title"] == "Launch"


def test_another_skill_id_hears_the_built_in_greeting():
    svc = make_service(LAUNCH_MAP)
    result = run(svc, request_type="LaunchRequest", application_id=OTHER_SKILL)
    assert speech(result) == "Welcome. Tell me what to send, or say help."
    assert response_of(result)["shouldEndSession"] is False


def test_launch_answers_are_not_intents_of_the_model():
    imap = parse(LAUNCH_MAP)
    assert list(imap.intents) == ["PingIntent"]
    assert list(imap.launch_answers) == [OLD_SKILL, NEW_SKILL]
    assert [(e.name, e.became) for e in imap.entries] == [
        (OLD_SKILL, "launch answer"),
        (NEW_SKILL, "launch answer"),
        ("PingIntent", "intent"),
    ]
    generated = generate_models(imap)
    assert generated.texts and not any("amzn1." in text for text in generated.texts.values())


def test_a_launch_answer_that_names_an_undeclared_notifier_is_an_error():
    with pytest.raises(ConfigError, match="notifier 'family' is not declared"):
        parse(f"intent_script:\n  {NEW_SKILL}:\n    action: {{action: notify.family, data: {{message: hi}}}}\n")


def test_session_ended_entries_are_read_as_session_ends_whose_templates_see_reason_and_error():
    name = f"{NEW_SKILL}.SessionEndedRequest"
    imap = parse(
        PING
        + f"  {name}:\n    action: {{action: notify.notify, data: {{message: '{{{{ reason }}}} {{{{ error }}}}'}}}}\n"
    )
    (note,) = [e for e in imap.entries if e.name == name]
    assert (note.became, note.why) == ("session end", "runs when a session of this skill ends: its notifications "
                                       "are sent, Alexa speaks no answer")  # fmt: skip
    assert list(imap.session_ends) == [name] and name not in imap.intents and not imap.launch_answers
    assert imap.session_ends[name].slots == {}  # reason and error are known names, not slots
    assert imap.warnings == []
    generated = generate_models(imap)
    assert not any("SessionEndedRequest" in text for text in generated.texts.values())


def test_a_session_end_that_only_speaks_is_warned_about():
    imap = parse(PING + f"  {NEW_SKILL}.SessionEndedRequest:\n    speech: bye\n")
    assert [w.message for w in imap.warnings] == [
        f"{NEW_SKILL}.SessionEndedRequest sends nothing: Alexa speaks no answer when a session ends"
    ]


def test_session_end_templates_are_checked_like_any_other():
    with pytest.raises(ConfigError, match="notifier 'family' is not declared"):
        action = "{action: notify.family, data: {message: x}}"
        parse(f"intent_script:\n  {NEW_SKILL}.SessionEndedRequest:\n    action: {action}\n")


def test_our_own_form_takes_a_skills_launch_answer_and_session_end_by_the_same_names():
    """As ``init --from`` writes Home Assistant's: entries of ``intents:`` named by the skill, with ``notify:``."""
    imap = parse(
        f"intents:\n  {NEW_SKILL}:\n    notify: {{message: opened}}\n    speech: hi\n"
        f"  {NEW_SKILL}.SessionEndedRequest:\n    notify: {{message: 'ended: {{{{ reason }}}}'}}\n"
        "  PingIntent:\n    notify: {message: ping}\n"
    )
    assert (imap.form, list(imap.intents)) == ("native", ["PingIntent"])
    assert list(imap.launch_answers) == [NEW_SKILL]
    assert list(imap.session_ends) == [f"{NEW_SKILL}.SessionEndedRequest"]
    assert imap.warnings == []


@pytest.mark.parametrize("key", ["samples: [open it]", "slots: {User: AMAZON.FirstName}", "confirm: sure?"])
def test_a_skill_entry_of_our_own_form_is_no_intent(key):
    """Alexa never sends such a name as an intent: what only an intent can use is refused."""
    with pytest.raises(ConfigError, match=rf"unknown key '{key.split(':')[0]}' in intent {NEW_SKILL}; expected one of"):
        parse(f"intents:\n  {NEW_SKILL}:\n    speech: hi\n    {key}\n")


@pytest.mark.parametrize(
    ("name", "is_skill"),
    [
        (OLD_SKILL, True),
        (NEW_SKILL, True),
        ("amzn1.ask.skill.", False),
        ("amzn1.ask.account.AM3B", False),
        (f"{NEW_SKILL}.SessionEndedRequest", False),
    ],
)
def test_application_id_pattern(name, is_skill):
    assert is_application_id(name) is is_skill


# --------------------------------------------------------------------------- 4. several ER authorities


def resolved(*matches: tuple[str, str | None], spoken: str = "Virgio Test") -> dict:
    authorities = [
        {
            "authority": f"amzn1.er-authority.echo-sdk.SKILL.ZODIAC{i}",
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": name, **({"id": ident} if ident else {})}}],
        }
        for i, (name, ident) in enumerate(matches)
    ]
    return {"value": spoken, "resolutions": {"resolutionsPerAuthority": authorities}}


ZODIAC = """
intent_script:
  Sign:
    speech: {type: plain, text: "Sign {{ ZodiacSign }}, id {{ ZodiacSign_Id }}."}
"""


def test_several_matching_authorities_give_the_first_id_and_the_spoken_value():
    svc = make_service(ZODIAC)
    result = run(svc, "Sign", {"ZodiacSign": resolved(("Virgio Test", "2"), ("Virgo", "1"))})
    assert speech(result) == "Sign Virgio Test, id 2."
    result = run(svc, "Sign", {"ZodiacSign": resolved(("Virgo", "1"), ("Virgio Test", "2"), spoken="V zodiac")})
    assert speech(result) == "Sign V zodiac, id 1."


def test_one_match_gives_its_name_and_id_and_a_match_without_id_an_empty_id():
    svc = make_service(ZODIAC)
    assert speech(run(svc, "Sign", {"ZodiacSign": resolved(("Virgo", "1"), spoken="V zodiac")})) == "Sign Virgo, id 1."
    assert speech(run(svc, "Sign", {"ZodiacSign": resolved(("Virgo", None), spoken="V zodiac")})) == "Sign Virgo, id ."


# --------------------------------------------------------------------------- 5. reprompts that render empty


def test_a_reprompt_that_renders_empty_is_no_reprompt():
    svc = make_service(
        """
        intent_script:
          Quiet:
            speech: "Done."
            reprompt: "{{ null }}"
          Maybe:
            speech: "Done."
            reprompt: "{% if Again %}Anything else?{% endif %}"
        """
    )
    quiet = response_of(run(svc, "Quiet"))
    assert "reprompt" not in quiet and quiet["shouldEndSession"] is True
    assert response_of(run(svc, "Maybe"))["shouldEndSession"] is True
    again = response_of(run(svc, "Maybe", {"Again": "yes"}))
    assert again["reprompt"]["outputSpeech"]["ssml"] == "<speak>Anything else?</speak>"
    assert again["shouldEndSession"] is False


def test_end_session_false_still_keeps_listening_without_a_reprompt():
    svc = make_service('intents:\n  Open:\n    speech: "Go on."\n    reprompt: "{{ null }}"\n    end_session: false\n')
    body = response_of(run(svc, "Open"))
    assert "reprompt" not in body and body["shouldEndSession"] is False


def test_a_launch_answer_whose_reprompt_renders_empty_ends_the_session():
    svc = make_service(f'intent_script:\n  {NEW_SKILL}:\n    speech: "Hi."\n    reprompt: "{{{{ null }}}}"\n')
    body = response_of(run(svc, request_type="LaunchRequest", application_id=NEW_SKILL))
    assert speech_text(body) == "Hi." and "reprompt" not in body and body["shouldEndSession"] is True


def test_our_own_launch_keeps_listening_with_the_built_in_reprompt():
    # Documented in the README: `launch:` opens a conversation; a launch answer follows Home Assistant.
    svc = make_service('launch: "Family notes here."\nintents:\n  A:\n    speech: a\n')
    body = response_of(run(svc, request_type="LaunchRequest"))
    assert body["reprompt"]["outputSpeech"]["ssml"] == "<speak>What should I send?</speak>"
    assert body["shouldEndSession"] is False


def speech_text(body: dict) -> str:
    return body["outputSpeech"]["ssml"].removeprefix("<speak>").removesuffix("</speak>")


# --------------------------------------------------------------------------- 6. built-in intent library names


def test_an_intent_of_the_built_in_library_is_accepted_and_answered():
    svc = make_service(
        f'intent_script:\n  "{LIBRARY_INTENT}":\n    speech: "Playing {{{{ object_byArtist_name }}}}."\n'
    )
    result = run(svc, LIBRARY_INTENT, {"object.byArtist.name": "the shins", "object.type": "music"})
    assert speech(result) == "Playing the shins."


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        (LIBRARY_INTENT, True),
        ("AMAZON.SearchAction<object@WeatherForecast[temperature]>", True),
        ("AMAZON.AddAction<object@Book,targetCollection@ReadingList>", True),
        ("LocateIntent", True),
        ("AMAZON.StopIntent", True),
        ("Play<Music>", False),
        ("AMAZON.PlaybackAction<>", False),
        ("AMAZON.PlaybackAction<object@Music Work>", False),
        ("1Intent", False),
    ],
)
def test_intent_name_rules(name, ok):
    assert is_intent_name(name) is ok


# --------------------------------------------------------------------------- 7. envelopes without "version"


def test_an_envelope_without_version_is_accepted_and_answered():
    envelope = build_request_envelope("IntentRequest", "PingIntent")
    del envelope["version"]
    parsed = parse_envelope(json.dumps(envelope))
    svc = make_service(PING)
    assert speech(invoke(build_skill(svc), parsed)) == "Pinged"


# --------------------------------------------------------------------------- check on a pasted configuration.yaml


def test_check_says_what_it_used_ignored_and_what_became_of_each_entry(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configuration.yaml").write_text(
        "sensor: []\nalexa:\n  flash_briefings: {}\n  colour: blue\n"
        f"intent_script:\n  {NEW_SKILL}:\n    speech: Hi\n  {NEW_SKILL}.SessionEndedRequest:\n    speech: Bye\n"
        "  PingIntent:\n    speech: Pinged\n",
        encoding="utf-8",
    )
    assert main(["check", "--intent-map", "configuration.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "  used: alexa (switches the endpoint on), intent_script",
        "  ignored: sensor, alexa.flash_briefings, alexa.colour",
        f"  intent_script {NEW_SKILL} (line 6): launch answer: answers when a person opens this skill",
        f"  intent_script {NEW_SKILL}.SessionEndedRequest (line 8): session end: runs when a session of this skill "
        "ends: its notifications are sent, Alexa speaks no answer",
        "  intent_script PingIntent (line 10): intent",
    ]


def test_check_on_our_own_form_prints_only_the_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "intents.yaml").write_text("intents:\n  A:\n    speech: a\n", encoding="utf-8")
    assert main(["check", "--intent-map", "intents.yaml"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
