"""The docs never lie: every YAML block in README.md loads, and the quick start's output is real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from skill.__main__ import main
from skill.intent_map import parse_intent_map

README = Path(__file__).parent.parent / "README.md"


def yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("index", range(len(yaml_blocks(README))))
def test_readme_yaml_examples_load_without_problems(index):
    imap = parse_intent_map(yaml_blocks(README)[index], f"README.md block {index + 1}")
    assert imap.intents
    assert [w for w in imap.warnings if w.code == "undeclared-slot"] == []


def test_readme_quick_start_output_is_what_simulate_prints(capsys, monkeypatch):
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP"):
        monkeypatch.delenv(name, raising=False)
    assert main(["simulate", "LocateIntent", "User=Paulus"]) == 0
    printed = capsys.readouterr().out.strip()
    text = README.read_text(encoding="utf-8")
    shown = text.split("simulate LocateIntent User=Paulus\n```\n\n```\n", 1)[1].split("```", 1)[0].strip()
    assert printed == shown


def test_docs_name_every_environment_variable_the_code_reads():
    text = "".join(p.read_text(encoding="utf-8") for p in [README, *README.parent.glob("docs/*.md")])
    source = "".join(p.read_text(encoding="utf-8") for p in (README.parent / "skill").rglob("*.py"))
    constants = set(re.findall(r"^([A-Z][A-Z0-9_]+)(?::[^=\n]*)? =", source, flags=re.M))  # Python names, not variables
    used = set(re.findall(r'"([A-Z][A-Z0-9_]{3,})"', source)) - constants
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})`", text))
    env_like = {
        name
        for name in used
        if name.startswith(("PUSHOVER_", "ALEXA_", "OUTBOX_", "ATTACHMENT_", "LOG_", "INTENT_", "UI_", "AWS_LAMBDA_"))
    }
    assert env_like - documented == set()
