"""The command line as a new user types it: options before the command, their own map, help, pipes.

Through main(argv) and through the real command (`python -m skill` in a subprocess, from another
working directory).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skill.__main__ import main
from tests.helpers import write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "intents.yaml"

HA_MAP = """
alexa:
  intents:
    LocateIntent:
      action:
        action: notify.notify
        data:
          message: "Where is {{ User }}?"
          target: pixel
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "INTENT_MAP", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)


def cli(*args: str, cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    """`python -m skill ARGS` run from ``cwd`` (the package found through PYTHONPATH, as an installed one is)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "INTENT_MAP"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "skill", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, **kwargs
    )


# --------------------------------------------------------------------------- options before the command


def test_intent_map_before_the_command_is_used(tmp_path, capsys):
    path = write(tmp_path, "intents: {A: {notify: {message: hi}}}\n", "mine.yaml")
    assert main(["--intent-map", str(path), "check"]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK (native form): 1 intent,")


def test_intent_map_before_the_command_that_does_not_exist_is_an_error(tmp_path, capsys):
    missing = tmp_path / "my.yaml"
    assert main(["--intent-map", str(missing), "check"]) == 1
    assert f"{missing}: file not found" in capsys.readouterr().err


def test_intent_map_after_the_command_wins(tmp_path, capsys):
    first = write(tmp_path, "intents: {A: {notify: {message: hi}}}\n", "first.yaml")
    second = write(tmp_path, "intents: {B: {notify: {message: hi}}, C: {notify: {message: ho}}}\n", "second.yaml")
    assert main(["--intent-map", str(first), "check", "--intent-map", str(second)]) == 0
    assert capsys.readouterr().out.startswith(f"{second}: OK (native form): 2 intents")


def test_verbose_before_the_command_logs_debug(capsys):
    assert main(["-v", "simulate", "LocateIntent", "User=Paulus"]) == 0
    assert "DEBUG skill.service: dry run: would send" in capsys.readouterr().err


def test_quiet_without_verbose(capsys):
    assert main(["simulate", "LocateIntent", "User=Paulus"]) == 0
    assert "DEBUG" not in capsys.readouterr().err


def test_options_before_the_command_from_another_directory(tmp_path):
    path = write(tmp_path, HA_MAP, "ha.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = cli("--intent-map", str(path), "-v", "simulate", "LocateIntent", "User=Anne", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "  message: Where is Anne?" in done.stdout
    assert "DEBUG" in done.stderr
    missing = cli("--intent-map", "nope.yaml", "serve", "--port", "0", cwd=elsewhere)
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "nope.yaml: file not found (set INTENT_MAP or pass --intent-map; `python -m skill init` writes a starter map)"
    )


# --------------------------------------------------------------------------- which models check compares


def test_own_map_next_to_the_examples_models_is_not_compared_with_them(tmp_path, capsys):
    shutil.copytree(ROOT / "interaction_models", tmp_path / "interaction_models")
    path = write(tmp_path, HA_MAP, "ha.yaml")
    assert main(["check", "--intent-map", str(path)]) == 0
    captured = capsys.readouterr()
    assert "is not in the intent map" not in captured.err
    assert captured.out.startswith(f"{path}: OK (alexa form)") or captured.out.startswith(f"{path}: OK")
    assert (
        f"note: {tmp_path / 'interaction_models'} was not compared: its models are for invocation name "
        "'familien notizen', 'family notes', not this map's; pass --models DIR to compare anyway"
    ) in captured.err


def test_the_maps_own_models_next_to_it_are_compared(tmp_path, capsys):
    text = EXAMPLE.read_text(encoding="utf-8")
    path = write(tmp_path, text, "intents.yaml")
    models = tmp_path / "interaction_models"
    assert main(["model", "--intent-map", str(path), "--out", str(models)]) == 0
    assert main(["check", "--intent-map", str(path)]) == 0
    capsys.readouterr()
    model = json.loads((models / "en-US.json").read_text(encoding="utf-8"))
    model["interactionModel"]["languageModel"]["intents"].append({"name": "WeatherIntent", "samples": ["weather"]})
    (models / "en-US.json").write_text(json.dumps(model, indent=2), encoding="utf-8")
    assert main(["check", "--intent-map", str(path)]) == 1
    assert str(models / "en-US.json") in capsys.readouterr().err


def test_models_that_do_not_exist_are_an_error(tmp_path, capsys):
    path = write(tmp_path, HA_MAP, "ha.yaml")
    assert main(["check", "--intent-map", str(path), "--models", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --models {tmp_path / 'nowhere'}: no such folder (`model --out DIR` writes one)"
    )


def test_check_on_the_example_in_the_checkout_from_the_command_line():
    done = cli("check", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("intents.yaml: OK (native form)")
    assert "note:" not in done.stderr


# --------------------------------------------------------------------------- small things


def test_endpoint_without_ask_cli_is_a_usage_error(tmp_path, capsys):
    assert main(["model", "--out", str(tmp_path / "m"), "--endpoint", "https://notes.example.org/alexa"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --endpoint is used only in the ASK CLI package: add --ask-cli DIR (or leave --endpoint out)"
    )
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", ["serve", "check", "model", "simulate", "init"])
def test_each_command_has_a_description_and_examples(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    usage, description = out.split("\n\n")[:2]
    assert usage.startswith(f"usage: python -m skill {command}")
    assert len(description.split()) > 8
    assert f"examples:\n  python -m skill {command}" in out


def test_top_level_usage_shows_options_before_the_command(capsys):
    assert main([]) == 2
    assert "usage: python -m skill [--intent-map PATH] [-v] COMMAND [options]" in capsys.readouterr().err


def _closed_reader(*args: str, cwd: Path, unbuffered: bool) -> tuple[int, str]:
    """`python -m skill ARGS | head -0`: the reader is gone before the first line is written."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "INTENT_MAP", "PYTHONUNBUFFERED"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "skill", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT), **({"PYTHONUNBUFFERED": "1"} if unbuffered else {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.stderr.close()
    return proc.wait(timeout=60), stderr


@pytest.mark.parametrize("unbuffered", [True, False], ids=["PYTHONUNBUFFERED=1", "buffered"])
def test_a_reader_that_stops_early_changes_neither_the_status_nor_stderr(tmp_path, unbuffered):
    """`simulate … | head -3` exits as `simulate …` does: 0 for a good run, 1 for a failed one; no word."""
    simulate = ["--intent-map", str(EXAMPLE), "simulate", "LocateIntent"]
    assert _closed_reader(*simulate, "User=Paulus", cwd=tmp_path, unbuffered=unbuffered) == (0, "")
    assert _closed_reader(*simulate, "User=Paulus", "--json", cwd=tmp_path, unbuffered=unbuffered) == (0, "")
    failed = _closed_reader(*simulate, "--send", cwd=tmp_path, unbuffered=unbuffered)
    assert failed == (1, "error: --send needs Pushover credentials; set PUSHOVER_TOKEN, PUSHOVER_USER\n")
    unknown = _closed_reader(*simulate[:3], "NoSuchIntent", cwd=tmp_path, unbuffered=unbuffered)
    assert unknown[0] == 1 and "Traceback" not in unknown[1]  # a failed outcome stays a failure


@pytest.mark.parametrize("unbuffered", [True, False], ids=["PYTHONUNBUFFERED=1", "buffered"])
def test_output_longer_than_the_buffer_still_runs_to_the_end(tmp_path, unbuffered):
    """More output than waits in a buffer meets the closed pipe mid-run: the run still finishes, status 0."""
    many = "".join(f"      - message: '{i} {'x' * 900}'\n" for i in range(12))
    path = write(tmp_path, f"intents:\n  A:\n    notify:\n{many}", "big.yaml")
    args = ("--intent-map", str(path), "simulate", "A", "--json")
    assert _closed_reader(*args, cwd=tmp_path, unbuffered=unbuffered) == (0, "")
    out = tmp_path / "models"
    model = _closed_reader(
        "--intent-map", str(EXAMPLE), "model", "--out", str(out), cwd=tmp_path, unbuffered=unbuffered
    )
    assert model == (0, "")
    assert sorted(p.name for p in out.iterdir()) == ["de-DE.json", "en-US.json"]  # every file written
