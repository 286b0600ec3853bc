"""Same rules everywhere: what `check` refuses, serve, simulate and the Lambda handler refuse to start on.

Each names the same file:line:col. A warning stays a warning: shown at start, and the skill runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skill.__main__ import main
from tests.helpers import write
from tests.test_serve import serving

ROOT = Path(__file__).resolve().parent.parent

#: `{{ Usr }}` where the intent declares `User`: before, only `check` said so, and serve rendered "of  has".
TYPO = """\
intents:
  LocateIntent:
    slots: {User: AMAZON.FirstName}
    notify:
      message: "The location of {{ Usr }} has been queried via Alexa."
"""
#: A sound that is not built in: fine if the account has it, so only a warning.
CUSTOM_SOUND = """\
intents:
  DoorIntent:
    notify: {message: "Someone is at the door.", sound: doorbell}
    speech: "I told them."
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("PUSHOVER_", "ALEXA_", "AWS_")) or name in {"INTENT_MAP", "LOG_FORMAT", "DRY_RUN"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "outbox.sqlite3"))


def lambda_init(path: Path) -> subprocess.CompletedProcess[str]:
    """A cold start as on Lambda: the handler module imported with AWS_LAMBDA_FUNCTION_NAME set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "ALEXA_", "AWS_"))}
    env.update(AWS_LAMBDA_FUNCTION_NAME="skill", INTENT_MAP=str(path), DRY_RUN="1", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", "import skill.lambda_function"]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=path.parent, timeout=60)


def test_check_serve_simulate_and_lambda_refuse_the_same_map_at_the_same_place(tmp_path, capsys):
    path = write(tmp_path, TYPO, "map.yaml")
    where = f"{path}:5:16: LocateIntent: template names 'Usr', which is neither a slot of the intent (User)"

    assert main(["check", "--intent-map", str(path)]) == 1
    assert where in capsys.readouterr().err

    assert main(["simulate", "LocateIntent", "User=Paulus", "--intent-map", str(path)]) == 1
    out, err = capsys.readouterr()
    assert where in err
    assert "has been queried" not in out  # nothing rendered, nothing "sent"

    assert main(["serve", "--port", "0", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err
    assert where in err and "Traceback" not in err

    init = lambda_init(path)
    assert init.returncode != 0, "INIT must fail: Lambda then reports the error instead of serving the map"
    assert where in init.stderr


def test_a_warning_stays_a_warning_shown_at_start_everywhere(tmp_path, capsys):
    path = write(tmp_path, CUSTOM_SOUND, "map.yaml")
    assert main(["check", "--intent-map", str(path)]) == 0
    warning = next(line for line in capsys.readouterr().err.splitlines() if "'doorbell'" in line)
    assert warning.startswith(f"{path}:3:") and ": warning: " in warning

    assert main(["simulate", "DoorIntent", "--intent-map", str(path)]) == 0
    out, err = capsys.readouterr()
    assert warning in err.splitlines()
    assert "Alexa says: I told them." in out

    init = lambda_init(path)
    assert init.returncode == 0, init.stderr
    assert warning in init.stderr

    with serving(tmp_path, "--no-verify", "--intent-map", str(path)) as served:
        assert warning in served.stderr
        assert served.proc.poll() is None  # and it serves
