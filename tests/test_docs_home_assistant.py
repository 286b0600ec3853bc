"""README's "Home Assistant forms": the whole configuration.yaml loads; `check` and `simulate` print what it shows."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from skill.__main__ import main

README = Path(__file__).parent.parent / "README.md"
COMMANDS = [
    "check --intent-map configuration.yaml",
    "simulate --launch --intent-map configuration.yaml",
    "simulate LocateIntent User=Paulus --intent-map configuration.yaml",
]


def configuration_yaml() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    (block,) = [b for b in blocks if b.startswith("# configuration.yaml\n")]
    return block


def shown_after(command: str) -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(f"python -m skill {command}\n```\n\n```\n", 1)[1].split("```", 1)[0].strip()


@pytest.fixture
def pasted(tmp_path, monkeypatch):
    """The README's configuration.yaml in a fresh directory, without Pushover keys or a skill id."""
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP", "ALEXA_SKILL_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configuration.yaml").write_text(configuration_yaml(), encoding="utf-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_home_assistant_output_is_what_the_command_prints(pasted, capsys, command):
    assert main(command.split()) == 0
    captured = capsys.readouterr()
    assert (captured.err + captured.out).strip() == shown_after(command)


def test_readme_configuration_yaml_has_alexa_intent_script_and_a_launch_answer(pasted, capsys):
    text = configuration_yaml()
    assert "\nalexa:\n" in text and "\nintent_script:\n" in text
    assert main(COMMANDS[0].split()) == 0
    assert "launch answer" in capsys.readouterr().out


def test_readme_names_the_note_check_adds_in_the_checkout(pasted, capsys, tmp_path):
    shutil.copytree(README.parent / "interaction_models", tmp_path / "interaction_models")
    assert main(COMMANDS[0].split()) == 0
    note = capsys.readouterr().err.splitlines()[-1]
    shown = README.read_text(encoding="utf-8").split("beside the example's `interaction_models/`", 1)[1]
    assert note.startswith("note: interaction_models was not compared")
    assert note == " ".join(shown.split("`")[1].split())
