"""``simulate`` with emergency receipts: --send keeps them in OUTBOX_PATH, every run shows the open alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skill.cli import main
from tests.alerts import ALERT_MAP
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import write


@pytest.fixture
def env(monkeypatch, tmp_path: Path, fake_pushover: FakePushover) -> Path:
    path = write(tmp_path, ALERT_MAP)
    for name, value in {
        "INTENT_MAP": str(path), "PUSHOVER_API_URL": fake_pushover.url, "PUSHOVER_TOKEN": TOKEN,
        "PUSHOVER_USER": USER, "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"), "TIMEZONE": "UTC",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return tmp_path


def test_simulate_sends_keeps_the_receipt_and_shows_the_open_alert(env, fake_pushover, capsys):
    assert main(["simulate", "AlertStatusIntent"]) == 0
    out = capsys.readouterr().out
    assert "Alexa says: There's no recent alert." in out and "Open alert" not in out
    assert not (env / "outbox.sqlite3").exists()  # a dry run creates no file
    assert main(["simulate", "EmergencyIntent", "--send"]) == 0
    assert "Open alert: EmergencyIntent sent " in capsys.readouterr().out
    assert main(["simulate", "AlertStatusIntent", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    (alert,) = shown["open_alerts"]
    assert alert["intent"] == "EmergencyIntent" and alert["devices"] == ["pixel3"] and alert["retry"] == 30
    assert alert["receipt"] in fake_pushover.receipts
    assert "Nobody has acknowledged the alert from " in json.dumps(shown["response"])
    assert fake_pushover.requests_to("receipt") == []  # a dry run asks Pushover nothing


def test_simulate_cancel_in_a_dry_run_says_that_no_alert_was_stopped(env, fake_pushover, capsys):
    assert main(["simulate", "EmergencyIntent", "--send"]) == 0
    capsys.readouterr()
    assert main(["simulate", "CancelAlertIntent"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("(dry run: no alert is stopped; add --send to cancel through Pushover)\n")
    assert "Alexa says: OK. I'm in test mode, so I didn't really stop any alert.\n" in out
    assert "Cancel:     alerts tagged alexa-emergencyintent (Pushover is not asked in a dry run)\n" in out
    assert "send it" not in out and "Open alert: EmergencyIntent" in out  # the alert still repeats
    assert fake_pushover.requests_to("cancel_by_tag") == []
    assert main(["simulate", "CancelAlertIntent", "--locale", "de-DE", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert "habe keinen Alarm wirklich gestoppt" in shown["response"]["response"]["outputSpeech"]["ssml"]
    assert shown["cancels"] == [{"tag": "alexa-emergencyintent", "canceled": 0}]


def test_simulate_cancel_with_send_stops_the_alert_and_says_how_many(env, fake_pushover, capsys):
    assert main(["simulate", "EmergencyIntent", "--send"]) == 0
    capsys.readouterr()
    assert main(["simulate", "CancelAlertIntent", "--send"]) == 0
    out = capsys.readouterr().out
    assert "dry run" not in out
    assert "Alexa says: I stopped one alert.\n" in out
    assert "Cancel:     alerts tagged alexa-emergencyintent (1 stopped)\n" in out
    assert "Open alert" not in out
    assert len(fake_pushover.requests_to("cancel_by_tag")) == 1
