"""The command line through main(argv): check and simulate, exit codes, one clear line per mistake."""

from __future__ import annotations

import json

import pytest

from skill.__main__ import main
from tests.fake_pushover import TOKEN, USER
from tests.helpers import write


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No credentials or settings leak in from the machine running the tests."""
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "INTENT_MAP", "ATTACHMENT_DIRS", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)


def test_check_passes_on_the_example(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("intents.yaml: OK (native form): 5 intents")


# One notification per kind, and a launch answer in `alexa: intents:` with two: every one is counted.
ALL_KINDS_MAP = """
intent_script:
  amzn1.ask.skill.11111111-2222-3333-4444-555555555555:
    action:
      - action: notify.notify
        data: {message: "Someone opened the skill."}
    speech: {type: plain, text: "Family notes here."}
  amzn1.ask.skill.11111111-2222-3333-4444-555555555555.SessionEndedRequest:
    action:
      - action: notify.notify
        data: {message: "Session ended: {{ reason }}"}
  LocateIntent:
    action:
      - action: notify.notify
        data: {message: "Where is {{ User }}?"}
    speech: {type: plain, text: "OK."}
"""
ALEXA_LAUNCH_MAP = """
alexa:
  intents:
    amzn1.ask.skill.11111111-2222-3333-4444-555555555555:
      action:
        - action: notify.notify
          data: {message: "Someone opened the skill."}
        - action: notify.notify
          data: {message: "Twice."}
      speech: {type: plain, text: "Family notes here."}
"""


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        (
            ALL_KINDS_MAP,
            "1 intent, 1 launch answer, 1 session end, "
            "3 notifications (1 from intents, 1 from launch answers, 1 from session ends), 0 warnings",
        ),
        (
            ALEXA_LAUNCH_MAP,
            "0 intents, 1 launch answer, 2 notifications (0 from intents, 2 from launch answers), 0 warnings",
        ),
    ],
    ids=["intent_script", "alexa"],
)
def test_check_counts_the_notifications_of_launch_answers_and_session_ends(tmp_path, capsys, text, counts):
    path = tmp_path / "configuration.yaml"
    path.write_text(text.lstrip(), encoding="utf-8")
    assert main(["check", "--intent-map", str(path)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"{path}: OK ({'intent_script' if 'intent_script' in text else 'alexa'} form): {counts}"


def test_check_prints_each_problem_with_its_line(tmp_path, capsys):
    path = write(
        tmp_path,
        """
        intents:
          A:
            notify:
              message: "{{ oops"
              priority: 7
          B:
            notify: {mesage: hi}
        """,
    )
    assert main(["check", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:4:16: A.notify.message: template syntax error: unexpected end of template" in err[0]
    assert f"{path}:5:17: A.notify.priority must be between -2 and 2, not 7" in err
    assert any(line.startswith(f"{path}:7:14: unknown key 'mesage' in B.notify") for line in err)
    assert not any("Traceback" in line for line in err)


def test_check_treats_undeclared_slots_as_errors(tmp_path, capsys):
    path = write(tmp_path, 'intents: {A: {slots: {User: AMAZON.FirstName}, notify: {message: "{{ Usr }}"}}}\n')
    assert main(["check", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:1:66: A: template names 'Usr'" in err
    assert "warning:" not in err


def test_check_reports_warnings_but_passes(tmp_path, capsys):
    path = write(tmp_path, "intents: {A: {notify: {message: hi, sound: doorbell}}}\n")
    assert main(["check", "--intent-map", str(path)]) == 0
    captured = capsys.readouterr()
    assert "warning: A.notify.sound: 'doorbell' is not a built-in sound" in captured.err
    assert "1 warning" in captured.out


def test_missing_map_is_one_line_no_traceback(tmp_path, capsys):
    assert main(["check", "--intent-map", str(tmp_path / "absent.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"{tmp_path / 'absent.yaml'}: file not found "
        "(set INTENT_MAP or pass --intent-map; `python -m skill init` writes a starter map)"
    )


def test_intent_map_from_the_environment(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, "intents: {A: {notify: {message: hi}}}\n", "other.yaml")
    monkeypatch.setenv("INTENT_MAP", str(path))
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK")


def test_simulate_locate_intent_prints_speech_and_notification(capsys):
    assert main(["simulate", "LocateIntent", "User=Paulus"]) == 0
    out = capsys.readouterr().out
    assert "(dry run: nothing is sent; add --send to send through Pushover)" in out
    assert "Alexa says: OK, I asked Paulus's phone where it is." in out
    assert "  message: The location of Paulus has been queried via Alexa." in out
    assert "  device: pixel" in out
    assert "  sound: falling" in out


def test_simulate_json(capsys):
    assert main(["simulate", "LocateIntent", "User=Paulus", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (
        data["response"]["response"]["outputSpeech"]["ssml"] == "<speak>OK, I asked Paulus's phone where it is.</speak>"
    )
    (note,) = data["notifications"]
    assert note["status"] == "dry_run"
    assert note["params"] == {
        "message": "The location of Paulus has been queried via Alexa.",
        "title": "Home Assistant",
        "device": "pixel",
        "sound": "falling",
        "url": "https://www.home-assistant.io/",
    }


def test_simulate_resolves_synonyms_like_alexa(capsys):
    assert main(["simulate", "MessageDeviceIntent", "Device=pixel three", "Text=hello", "--json"]) == 0
    (note,) = json.loads(capsys.readouterr().out)["notifications"]
    assert note["params"]["device"] == "pixel3"


def test_simulate_launch_and_locale(capsys):
    assert main(["simulate", "--launch", "--locale", "de-DE"]) == 0
    assert "Alexa says: Hier sind die Familiennotizen." in capsys.readouterr().out


def test_simulate_send_without_credentials_fails_in_one_line(capsys):
    assert main(["simulate", "LocateIntent", "User=Paulus", "--send"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: --send needs Pushover credentials; set PUSHOVER_TOKEN, PUSHOVER_USER"


def test_simulate_send_delivers(fake_pushover, monkeypatch, capsys):
    monkeypatch.setenv("PUSHOVER_TOKEN", TOKEN)
    monkeypatch.setenv("PUSHOVER_USER", USER)
    monkeypatch.setenv("PUSHOVER_API_URL", fake_pushover.url)
    assert main(["simulate", "ShoppingIntent", "Item=milk", "--send"]) == 0
    out = capsys.readouterr().out
    assert fake_pushover.last.form["message"] == "Please buy milk."
    assert "(request id:" in out
    assert TOKEN not in out and USER not in out


def test_simulate_failure_exits_1(fake_pushover, monkeypatch, capsys):
    monkeypatch.setenv("PUSHOVER_TOKEN", TOKEN)
    monkeypatch.setenv("PUSHOVER_USER", USER)
    monkeypatch.setenv("PUSHOVER_API_URL", fake_pushover.url)
    fake_pushover.enqueue(status=400, errors=["user key is invalid"])
    assert main(["simulate", "ShoppingIntent", "Item=milk", "--send"]) == 1
    assert "Pushover refused the notification: user key is invalid." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate"], "simulate needs an intent name (or --launch, or --session-ended)"),
        (["simulate", "LocateIntent", "Paulus"], "slot values look like NAME=VALUE, not 'Paulus'"),
        (["serve", "--port", "70000"], "--port must be 0-65535"),
        (["model", "--ask-cli", "x"], "--ask-cli needs --endpoint"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {message}" or message in err
    assert "Traceback" not in err


def test_unknown_command_and_no_command_are_usage_errors(capsys):
    assert main(["frobnicate"]) == 2
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_bad_environment_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("ALEXA_VERIFY", "maybe")
    assert main(["check"]) == 1
    assert capsys.readouterr().err.strip() == "error: ALEXA_VERIFY must be 0 or 1, not 'maybe'"


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        (
            "homeassistant: {name: Home}\nintent_script:\n  PingIntent:\n"
            "    action: {action: notify.notify, data: {message: ping}}\n",
            "1 intent, 1 notification, 1 warning",
        ),
        (
            "intents:\n  A: {notify: {message: a}}\n  B: {notify: [{message: b}, {message: c}]}\n",
            "2 intents, 3 notifications, 0 warnings",
        ),
    ],
    ids=["one", "many"],
)
def test_check_counts_read_in_the_singular_and_the_plural(tmp_path, capsys, text, summary):
    path = write(tmp_path, text, "map.yaml")
    assert main(["check", "--intent-map", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith(f" form): {summary}")
