"""Mistakes of the first hour, through the real command line: each message says what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skill.__main__ import main
from tests.fake_pushover import TOKEN, USER
from tests.helpers import PNG, write

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "INTENT_MAP", "LOG_FORMAT", "ATTACHMENT_DIRS"):
        monkeypatch.delenv(name, raising=False)


def cli(*args: str, cwd: Path | str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "INTENT_MAP", "ATTACHMENT"))}
    env["PYTHONPATH"] = str(ROOT)
    prefix = [] if user is None else ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    command = [*prefix, sys.executable, "-m", "skill", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------- YAML mistakes in plain words


BAD_YAML = [
    (
        "indentation",
        "intents:\n  A:\n    notify:\n      message: hi\n     title: x\n",
        "5:6: the indentation does not line up: this line is indented differently from the lines above it at the "
        "same level (it starts at line 3); give lines of one level the same number of spaces",
    ),
    (
        "list-indentation",
        "intents:\n  A:\n    notify:\n      message: hi\n      target:\n        - a\n       - b\n",
        "7:8: the indentation does not line up: this list item ('- ') is indented differently",
    ),
    ("tab", "intents:\n\tA: 1\n", "2:1: a tab character: YAML indents with spaces only"),
    ("colon", "intents:\n  A:\n    notify:\n      message: hi\n        title: x\n", "5:14: a ':' where YAML did not"),
    ("quote", 'intents:\n  A:\n    notify:\n      message: "hi\n', "5:1: a quote is never closed"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_YAML, ids=[c[0] for c in BAD_YAML])
def test_yaml_mistakes_are_explained_with_file_line_and_column(tmp_path, capsys, case, text, message):
    path = write(tmp_path, text, "mine.yaml")
    assert main(["check", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:{message}") or (f"{path}:" in err and message in err), err
    assert "expected <block end>" not in err and "block mapping start" not in err
    assert len(err.splitlines()) == 1


def test_bad_indentation_from_the_command_line_in_another_directory(tmp_path):
    write(tmp_path, BAD_YAML[0][1], "mine.yaml")
    done = cli("check", "--intent-map", "mine.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("mine.yaml:5:6: the indentation does not line up")
    assert "Traceback" not in done.stderr


def test_a_key_indented_under_a_per_locale_text_is_named_where_it_stands(tmp_path, capsys):
    text = "intents:\n  A:\n    notify:\n      message:\n        en-US: hi\n        de-DE: hallo\n        title: x\n"
    path = write(tmp_path, text, "mine.yaml")
    assert main(["check", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"{path}:7:9: A.notify.message: 'title' is not a locale, but the other keys here are; "
        "if it belongs a level up, indent it less\n"
    )
    fixed = write(tmp_path, text.replace("        title", "      title"), "fixed.yaml")
    assert main(["check", "--intent-map", str(fixed)]) == 0


def test_a_typo_in_the_intent_or_a_slot_name_given_to_simulate_is_named(tmp_path, capsys):
    intents = "CancelAlertIntent, EmergencyIntent, LocateIntent, MessageDeviceIntent, ShoppingIntent"
    example = str(ROOT / "intents.yaml")
    assert main(["simulate", "LocateIntnet", "User=Paulus", "--intent-map", example]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"note: LocateIntnet is not an intent of {example} (its intents: {intents})\n"
    assert "I don't know what to do for locate intnet" in captured.out

    assert main(["simulate", "LocateIntent", "Usr=Paulus", "--intent-map", example]) == 0
    captured = capsys.readouterr()
    assert captured.err == "note: Usr: not a slot of LocateIntent (its slots: User)\n"
    assert "Whom should I locate?" in captured.out  # Alexa asks for the slot it did not get

    assert main(["simulate", "LocateIntent", "User=Paulus", "--intent-map", example]) == 0
    assert main(["simulate", "AMAZON.HelpIntent", "--intent-map", example]) == 0
    assert capsys.readouterr().err == ""


FAMILY_MAP = """\
notifiers:
  family: {token_env: FAMILY_PUSHOVER_TOKEN, user_env: FAMILY_PUSHOVER_USER}
intents:
  FamilyIntent:
    samples: ["tell the family"]
    notify: {notifier: family, message: Hello}
"""


def test_send_through_a_named_notifier_needs_only_its_own_variables(tmp_path, fake_pushover, monkeypatch, capsys):
    path = write(tmp_path, FAMILY_MAP, "mine.yaml")
    monkeypatch.setenv("PUSHOVER_API_URL", fake_pushover.url)
    monkeypatch.setenv("FAMILY_PUSHOVER_TOKEN", TOKEN)
    assert main(["simulate", "FamilyIntent", "--send", "--intent-map", str(path)]) == 1
    assert capsys.readouterr().err == "error: --send needs Pushover credentials; set FAMILY_PUSHOVER_USER\n"
    monkeypatch.setenv("FAMILY_PUSHOVER_USER", USER)  # PUSHOVER_TOKEN and PUSHOVER_USER stay unset
    assert main(["simulate", "FamilyIntent", "--send", "--intent-map", str(path)]) == 0
    assert fake_pushover.last.form["message"] == "Hello"
    assert fake_pushover.last.form["token"] == TOKEN


# --------------------------------------------------------------------------- files that cannot be read


def test_an_unreadable_map_is_permission_denied_with_its_path(tmp_path):
    folder = tmp_path / "maps"
    folder.mkdir()
    path = write(folder, "intents: {A: {notify: {message: hi}}}\n", "mine.yaml")
    path.chmod(0)
    user = None
    if os.geteuid() == 0:  # root reads every file: run the command as nobody, who may not
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        tmp_path.chmod(0o755)
        folder.chmod(0o755)
        user = 65534
        probe = cli("--version", cwd="/", user=user)
        if probe.returncode != 0:  # e.g. a checkout inside a folder only root may enter (mktemp -d)
            path.chmod(0o644)
            pytest.skip(f"user nobody cannot run the checkout at {ROOT}: {probe.stderr.strip()[-120:]}")
    try:
        done = cli("check", "--intent-map", str(path), cwd="/", user=user)
    finally:
        path.chmod(0o644)
    assert done.returncode == 1
    assert done.stderr.strip() == f"{path}: permission denied: this user may not read the file"


def test_a_folder_given_as_the_map(tmp_path, capsys):
    assert main(["check", "--intent-map", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == f"{tmp_path}: is a folder, not a YAML file"


# --------------------------------------------------------------------------- what a person hears about a picture

PICTURE_MAP = """
intents:
  SnapIntent:
    notify:
      message: "Snapshot"
      attachment: "{picture}"
"""


def test_a_dropped_picture_is_said_in_plain_words_and_the_log_names_the_variable(tmp_path, capsys):
    picture = tmp_path / "snap.png"
    picture.write_bytes(PNG)
    path = write(tmp_path, PICTURE_MAP.format(picture=picture), "mine.yaml")
    assert main(["simulate", "--intent-map", str(path), "SnapIntent"]) == 0
    captured = capsys.readouterr()
    assert (
        "Alexa says: OK. I'm in test mode, so I didn't really send it. It would go without the picture, "
        "because the file is outside the allowed folders."
    ) in captured.out
    assert "ATTACHMENT_DIRS" not in captured.out.split("Notification 1")[0]
    assert "no folder is allowed: set ATTACHMENT_DIRS or the map's attachment_dirs" in captured.err


def test_a_dropped_picture_when_sending(tmp_path, fake_pushover, monkeypatch, capsys):
    monkeypatch.setenv("PUSHOVER_TOKEN", TOKEN)
    monkeypatch.setenv("PUSHOVER_USER", USER)
    monkeypatch.setenv("PUSHOVER_API_URL", fake_pushover.url)
    path = write(tmp_path, PICTURE_MAP.format(picture=tmp_path / "snap.png"), "mine.yaml")
    assert main(["simulate", "--intent-map", str(path), "SnapIntent", "--send", "--json"]) == 0
    out = capsys.readouterr().out
    assert "I sent it without the picture, because the file is outside the allowed folders." in out
    assert "ATTACHMENT_DIRS" not in out.split('"notifications"')[0]
    assert fake_pushover.last.form["message"] == "Snapshot"


def test_a_picture_from_an_allowed_folder_is_not_mentioned(tmp_path, monkeypatch, capsys):
    picture = tmp_path / "snap.png"
    picture.write_bytes(PNG)
    monkeypatch.setenv("ATTACHMENT_DIRS", str(tmp_path))
    path = write(tmp_path, PICTURE_MAP.format(picture=picture), "mine.yaml")
    assert main(["simulate", "--intent-map", str(path), "SnapIntent"]) == 0
    assert "without the picture" not in capsys.readouterr().out
