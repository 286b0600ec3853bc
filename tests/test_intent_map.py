"""The intent map loader: every accepted form, and a precise problem for every mistake."""

from __future__ import annotations

import textwrap

import pytest

from skill.errors import ConfigError
from skill.intent_map import load_intent_map, parse_intent_map
from tests.ha_examples import HA_PUSHOVER_DOCS
from tests.helpers import parse, write


def problems_of(text: str) -> list[str]:
    """Every problem of a map that must not load, as "line:col: message"."""
    with pytest.raises(ConfigError) as info:
        parse_intent_map(textwrap.dedent(text).lstrip("\n"), "m.yaml")
    return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]


def test_home_assistant_pushover_docs_example_loads_verbatim():
    imap = parse_intent_map(HA_PUSHOVER_DOCS, "configuration.yaml")
    assert imap.form == "alexa"
    spec = imap.intents["LocateIntent"]
    (note,) = spec.notifications
    assert note.notifier == "notify"
    assert {k: v.pick(None).source for k, v in note.fields.items()} == {
        "message": "The location of {{ User }} has been queried via Alexa.",
        "title": "Home Assistant",
        "sound": "falling",
        "url": "https://www.home-assistant.io/",
        "attachment": "/tmp/image.png",
    }
    assert [t.pick(None).source for t in note.targets] == ["pixel"]
    assert not note.validate_devices
    # The slot is inferred from the template, since Home Assistant maps carry no slot list.
    assert set(spec.slots) == {"User"}
    assert imap.warnings == []


def test_intent_script_form_with_reprompt_and_list_of_actions():
    imap = parse(
        """
        intent_script:
          EmergencyIntent:
            description: Raise the alarm
            action:
              - service: notify.notify
                data_template:
                  message: "Help needed"
                  target: [iphone11pro]
                  data:
                    priority: 2
                    sound: siren
                    expire: 300
                    retry: 30
              - action: notify.notify
                data:
                  message: "Second"
            speech:
              type: plain
              text: "Alert raised"
            reprompt:
              text: "Anything else?"
            card:
              type: simple
              title: Alert
              content: "Raised"
        """
    )
    spec = imap.intents["EmergencyIntent"]
    assert imap.form == "intent_script"
    assert len(spec.notifications) == 2
    assert spec.notifications[0].values == {"priority": 2, "expire": 300, "retry": 30}
    assert spec.reprompt is not None and spec.keeps_session_open
    assert spec.card is not None


def test_our_form_full_example_loads(tmp_path):
    imap = load_intent_map("intents.yaml")
    assert imap.form == "native"
    assert {"LocateIntent", "EmergencyIntent", "MessageDeviceIntent", "ShoppingIntent"} <= set(imap.intents)
    assert imap.intents["MessageDeviceIntent"].notifications[0].validate_devices
    assert imap.warnings == []


def test_whole_home_assistant_configuration_is_accepted_with_warnings():
    imap = parse(
        """
        homeassistant:
          name: Home
        sensor:
          - platform: time_date
        alexa:
          smart_home:
          intents:
            PingIntent:
              action:
                action: notify.notify
                data:
                  message: ping
        """
    )
    assert set(imap.intents) == {"PingIntent"}
    messages = [p.message for p in imap.warnings]
    assert any("homeassistant" in m for m in messages)
    # smart_home is a part of Home Assistant's alexa: that this skill does not do: passed over, told by `check`.
    assert not any("smart_home" in m for m in messages)
    assert imap.blocks_ignored == ["homeassistant", "sensor", "alexa.smart_home"]
    assert imap.blocks_used == ["alexa.intents"]


def test_named_notifier_declared_in_the_map():
    imap = parse(
        """
        notifiers:
          family:
            token_env: FAMILY_TOKEN
            user_env: FAMILY_USERS
        intents:
          A:
            notify:
              notifier: notify.family
              message: hi
        """
    )
    assert imap.intents["A"].notifications[0].notifier == "family"
    assert imap.notifiers["family"].user_env == "FAMILY_USERS"


BAD_MAPS = [
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              colour: red
        """,
        ["5:7: unknown key 'colour' in A.notify; expected one of: attachment, callback"],
        id="unknown-notify-key",
    ),
    pytest.param(
        """
        intents:
          A:
            notify: {message: hi}
            spech: hello
        """,
        ["4:5: unknown key 'spech' in intent A; expected one of: alert_status, cancel_alerts, card"],
        id="unknown-intent-key",
    ),
    pytest.param(
        """
        intents:
          A:
            notify: {message: hi}
          A:
            notify: {message: again}
        """,
        ["4:3: duplicate key 'A' (first at line 2)"],
        id="duplicate-intent",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              title: one
              title: two
        """,
        ["6:7: duplicate key 'title' (first at line 5)"],
        id="duplicate-field",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              priority: 3
        """,
        ["5:17: A.notify.priority must be between -2 and 2, not 3"],
        id="priority-range",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              priority: 2
        """,
        ["5:17: A.notify: priority 2 (emergency) needs retry and expire"],
        id="emergency-without-retry-expire",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              priority: 2
              retry: 10
              expire: 20000
        """,
        [
            "6:14: A.notify.retry must be at least 30 seconds, not 10",
            "7:15: A.notify.expire must be between 1 and 10800 seconds, not 20000",
        ],
        id="retry-expire-bounds",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              priority: 2
              retry: 30
              expire: 60
              ttl: 10
        """,
        ["8:12: A.notify: ttl cannot be used with priority 2"],
        id="ttl-with-emergency",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              html: true
              monospace: true
        """,
        ["6:18: A.notify: html and monospace cannot both be set"],
        id="html-and-monospace",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: "hello {{ User }"
        """,
        ["4:16: A.notify.message: template syntax error: unexpected '}'"],
        id="jinja-syntax",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: |
                line one
                {% if x %}never closed
        """,
        ["6:9: A.notify.message: template syntax error"],
        id="jinja-syntax-on-a-later-line",
    ),
    pytest.param(
        f"""
        intents:
          A:
            notify:
              message: hi
              title: {"t" * 251}
        """,
        ["5:14: A.notify.title is 251 characters; Pushover allows 250"],
        id="title-too-long",
    ),
    pytest.param(
        f"""
        intents:
          A:
            notify:
              message: {"m" * 1025}
        """,
        ["4:16: A.notify.message is 1025 characters; Pushover allows 1024"],
        id="message-too-long",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              target: [pixel3, "kitchen tablet", ok_name-1]
        """,
        ["5:24: A.notify.target: 'kitchen tablet' is not a Pushover device name"],
        id="device-name",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              message: hi
              priority: high
              html: "yes"
        """,
        ["5:17: A.notify.priority must be a whole number, not 'high'", "6:13: A.notify.html must be true or false"],
        id="wrong-types",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              title: no message
        """,
        ["4:7: A.notify needs a message"],
        id="missing-message",
    ),
    pytest.param(
        """
        alexa:
          intents:
            A:
              action:
                action: light.turn_on
                data:
                  entity_id: light.kitchen
        """,
        ["5:17: A.action: only notify actions can be run here, not 'light.turn_on'"],
        id="non-notify-action",
    ),
    pytest.param(
        """
        intents:
          A:
            notify:
              notifier: family
              message: hi
        """,
        ["4:7: A: notifier 'family' is not declared under notifiers:"],
        id="undeclared-notifier",
    ),
    pytest.param(
        """
        alexa:
          intents:
            A:
              action:
                action: notify.notify
                data:
                  message: !secret my_message
        """,
        ["7:20: A.notify.message: YAML tag !secret is not supported (Home Assistant secrets go in environment"],
        id="secret-tag",
    ),
    pytest.param(
        """
        intents:
          A:
            slots:
              Room: RoomType
            notify: {message: hi}
        """,
        ["4:7: slot A.Room: type 'RoomType' is not declared under slot_types"],
        id="undefined-slot-type",
    ),
    pytest.param(
        """
        attachment_hosts: [camera.local, "a b", "http://x/"]
        intents:
          A: {notify: {message: hi}}
        """,
        [
            "1:34: attachment_hosts: 'a b' is not a host name or host:port",
            "1:41: attachment_hosts: 'http://x/' is not a host name or host:port",
        ],
        id="attachment-hosts",
    ),
    pytest.param(
        """
        intents:
          A: {cancel_alerts: {intent: [1]}}
        """,
        ["2:31: A.cancel_alerts.intent must be an intent name"],
        id="cancel-intent-not-a-name",
    ),
    pytest.param("", ["1:1: the intent map is empty"], id="empty"),
    pytest.param("- just\n- a list\n", ["1:1: the intent map must be a mapping, not a list"], id="list"),
    pytest.param("intents: [\n", ["2:1: the file ends while a '[', '{' or quote is still open"], id="yaml-syntax"),
    pytest.param("sensor: {}\n", ["1:1: no intents found"], id="no-intents"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_MAPS)
def test_bad_maps_name_the_line_and_the_problem(text, expected):
    problems = problems_of(text)
    for fragment in expected:
        assert any(p.startswith(fragment) for p in problems), f"{fragment!r} not in {problems}"


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        """
        intents:
          A:
            notify:
              message: "{{ broken"
              priority: 9
          B:
            notify:
              mesage: typo
          C: 3
        """
    )
    assert len(problems) >= 5
    lines = [int(p.split(":")[0]) for p in problems]
    assert lines == sorted(lines)


def test_template_naming_an_undeclared_variable_is_an_error():
    """Same rules everywhere: serve, simulate and Lambda load maps through this, as check does."""
    with pytest.raises(ConfigError) as caught:
        parse(
            """
            intents:
              A:
                slots:
                  User: AMAZON.FirstName
                notify:
                  message: "{{ Usr }} at {{ now.year }} ({{ intent_name }}, {{ User_Id }})"
            """
        )
    (error,) = caught.value.problems
    assert error.severity == "error" and error.code == "undeclared-slot"
    assert (error.line, error.col) == (6, 16)
    assert "'Usr', which is neither a slot of the intent (User) nor a known name" in error.message


def test_custom_sound_is_a_warning_not_an_error():
    imap = parse(
        """
        intents:
          A:
            notify:
              message: hi
              sound: doorbell
        """
    )
    assert [w.code for w in imap.warnings] == ["custom-sound"]


def test_missing_file_is_one_clear_problem(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_intent_map(tmp_path / "nope.yaml")
    assert str(info.value).endswith("nope.yaml: file not found (set INTENT_MAP or pass --intent-map)")


def test_problem_paths_name_the_file(tmp_path):
    path = write(tmp_path, "intents:\n  A: {notify: {message: hi, priority: 5}}\n")
    with pytest.raises(ConfigError) as info:
        load_intent_map(path)
    assert str(info.value).startswith(f"{path}:2:")


def test_targets_comma_list_and_templates():
    imap = parse(
        """
        intents:
          A:
            notify:
              message: hi
              target: "pixel3, pixel4a"
          B:
            notify:
              message: hi
              target: "{{ Device }}"
          C:
            notify:
              message: hi
              target: "{{ Device }}"
              validate_devices: false
        """
    )
    assert [t.pick(None).source for t in imap.intents["A"].notifications[0].targets] == ["pixel3", "pixel4a"]
    assert imap.intents["B"].notifications[0].validate_devices is True
    assert imap.intents["C"].notifications[0].validate_devices is False


def test_per_locale_values_pick_exact_then_language_then_default():
    imap = parse(
        """
        intents:
          A:
            notify:
              message:
                default: "hello"
                de: "hallo"
                en-GB: "hello, mate"
        """
    )
    field = imap.intents["A"].notifications[0].fields["message"]
    assert field.pick("en-GB").source == "hello, mate"
    assert field.pick("de-AT").source == "hallo"
    assert field.pick("fr-FR").source == "hello"
    assert field.pick(None).source == "hello"
