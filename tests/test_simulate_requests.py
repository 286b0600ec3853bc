"""``simulate --launch`` and ``simulate --session-ended``: the requests Alexa sends on its own, through main(argv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.cli import main
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import write

SKILL = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
OTHER = "amzn1.ask.skill.99999999-8888-7777-6666-555555555555"
#: Home Assistant's forms: a launch answer and a session end that both send, beside an intent.
MAP = f"""
intent_script:
  {SKILL}:
    action:
      - action: notify.notify
        data: {{message: "Someone opened the skill."}}
    speech: {{type: plain, text: "Family notes here."}}
  {SKILL}.SessionEndedRequest:
    action:
      - action: notify.notify
        data:
          message: "Session ended: {{{{ reason }}}}{{% if error %}} ({{{{ error.type }}}}:
            {{{{ error.message }}}}){{% endif %}}"
  LocateIntent:
    action:
      - action: notify.notify
        data: {{message: "Where is {{{{ User }}}}?"}}
"""


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "ALEXA_SKILL_ID", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    path = write(tmp_path, MAP, "configuration.yaml")
    monkeypatch.setenv("INTENT_MAP", str(path))
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "outbox.sqlite3"))
    return path


def test_session_ended_runs_the_maps_session_end_and_alexa_says_nothing(capsys):
    assert main(["simulate", "--session-ended"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "(dry run: nothing is sent; add --send to send through Pushover)",
        "Alexa says nothing.",
        "Session:    ends",
        "Notification 1 (notifier notify, dry_run):",
        "  message: Session ended: USER_INITIATED",
    ]


def test_session_ended_with_an_error_gives_the_templates_reason_and_error(capsys):
    assert main(["simulate", "--session-ended", "--error", "ENDPOINT_TIMEOUT", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["response"]["response"] == {}  # Alexa speaks no answer to a SessionEndedRequest
    [note] = printed["notifications"]
    assert note["params"]["message"] == "Session ended: ERROR (ENDPOINT_TIMEOUT: ENDPOINT_TIMEOUT (simulated))"


def test_session_ended_for_exceeded_reprompts(capsys):
    assert main(["simulate", "--session-ended", "--reason", "EXCEEDED_MAX_REPROMPTS"]) == 0
    assert "  message: Session ended: EXCEEDED_MAX_REPROMPTS" in capsys.readouterr().out


def test_session_ended_send_reaches_pushover(monkeypatch, fake_pushover: FakePushover, capsys):
    monkeypatch.setenv("PUSHOVER_TOKEN", TOKEN)
    monkeypatch.setenv("PUSHOVER_USER", USER)
    monkeypatch.setenv("PUSHOVER_API_URL", fake_pushover.url)
    assert main(["simulate", "--session-ended", "--reason", "USER_INITIATED", "--send"]) == 0
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == ["Session ended: USER_INITIATED"]
    assert "(request id:" in capsys.readouterr().out


def test_session_ended_of_another_skill_runs_nothing_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("ALEXA_SKILL_ID", OTHER)
    assert main(["simulate", "--session-ended"]) == 0
    out = capsys.readouterr().out
    assert "Notification" not in out
    assert f"(nothing runs: the map has no {OTHER}.SessionEndedRequest entry)" in out


def test_launch_runs_the_launch_answer_with_its_notification(capsys):
    assert main(["simulate", "--launch"]) == 0
    out = capsys.readouterr().out
    assert "Alexa says: Family notes here." in out
    assert "  message: Someone opened the skill." in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--launch", "--session-ended"], "--launch and --session-ended are two requests: give one"),
        (["--session-ended", "LocateIntent", "User=Paulus"], "--session-ended plays no intent: leave out LocateIntent"),
        (["--launch", "LocateIntent"], "--launch plays no intent: leave out LocateIntent"),
        (["LocateIntent", "--reason", "ERROR"], "--reason goes with --session-ended"),
        (["--error", "ENDPOINT_TIMEOUT"], "--error goes with --session-ended"),
        (
            ["--session-ended", "--reason", "USER_INITIATED", "--error", "ENDPOINT_TIMEOUT"],
            "--error goes with --reason ERROR, not USER_INITIATED",
        ),
    ],
    ids=["both", "intent-and-session-end", "intent-and-launch", "reason-alone", "error-alone", "error-not-error"],
)
def test_simulate_refuses_mixed_requests_in_one_line(capsys, argv, message):
    assert main(["simulate", *argv]) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: {message}")
