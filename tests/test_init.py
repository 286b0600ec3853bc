"""`init`: the starter map, the .env template, .gitignore, the next steps; Home Assistant blocks converted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from skill.__main__ import main
from skill.intent_map import load_intent_map
from tests.ha_examples import HA_DOCS_LOCATE_INTENT
from tests.helpers import write

ROOT = Path(__file__).resolve().parent.parent

#: Home Assistant's own examples (the Pushover and Alexa integration docs), plus older spellings.
HA_CONFIG = (
    """
homeassistant:
  name: Home
notifiers:
  family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
alexa:
  intents:
"""
    + HA_DOCS_LOCATE_INTENT
    + """\
      speech:
        type: plain
        text: "OK, {{ User }} is being located"
      card:
        type: simple
        title: Located
        content: "Asked for {{ User }}"
intent_script:
  EmergencyIntent:
    mode: single
    action:
      - action: notify.family
        data:
          message: "Help!"
          target: [iphone11pro]
          data: {priority: 2, sound: siren, expire: 300, retry: 30}
      - service: notify.notify
        data_template:
          message: "Help from {{ Room }}"
      - action: notify.notify
        enabled: false
        data: {message: "never"}
    speech: {type: plain, text: "Alert sent from {{ Room }}"}
    reprompt: {type: plain, text: "Anything else?"}
"""
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "INTENT_MAP", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_init_writes_the_example_env_and_gitignore_and_prints_the_next_steps(tmp_path, capsys):
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    example = (ROOT / "intents.yaml").read_text(encoding="utf-8")
    written = (tmp_path / "intents.yaml").read_text(encoding="utf-8")
    assert [line for line in written.splitlines() if "yaml-language-server" not in line] == [
        line for line in example.splitlines() if "yaml-language-server" not in line
    ]
    env = (tmp_path / ".env").read_text(encoding="utf-8")
    assert "\nPUSHOVER_USER=\n" in env and "\nPUSHOVER_TOKEN=\n" in env
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == ".env\n"
    assert "wrote intents.yaml (the example map: 5 intents)" in out
    steps = out.split("Next steps:\n", 1)[1]
    assert "1. Put your Pushover keys into ./.env, then load them: set -a; . ./.env; set +a" in steps
    assert "2. Check the map, the keys, your devices and sounds: python -m skill check --online" in steps
    assert "3. Create the skill:" in steps and "model --ask-cli skill-project --endpoint" in steps
    # what it wrote is ready to use
    assert main(["check"]) == 0
    assert main(["simulate", "LocateIntent", "User=Paulus"]) == 0
    assert "message: The location of Paulus has been queried via Alexa." in capsys.readouterr().out


def test_init_never_overwrites_without_force(tmp_path, capsys):
    (tmp_path / "intents.yaml").write_text("mine\n", encoding="utf-8")
    (tmp_path / ".env").write_text("PUSHOVER_TOKEN=secret\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("*.pyc", encoding="utf-8")
    assert main(["init"]) == 1
    assert capsys.readouterr().err.strip() == (
        "intents.yaml: exists: pass --force to overwrite it, or --intent-map NEW.yaml to write elsewhere"
    )
    assert (tmp_path / "intents.yaml").read_text(encoding="utf-8") == "mine\n"
    assert main(["init", "--force"]) == 0
    out = capsys.readouterr().out
    assert "kept ./.env (it exists; init never overwrites it)" in out
    assert "added .env to ./.gitignore" in out
    assert (tmp_path / ".env").read_text(encoding="utf-8") == "PUSHOVER_TOKEN=secret\n"
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == "*.pyc\n.env\n"
    assert load_intent_map(tmp_path / "intents.yaml").intents


def test_init_from_one_intent_says_1_intent(tmp_path, capsys):
    source = write(tmp_path, "alexa:\n  intents:\n" + HA_DOCS_LOCATE_INTENT, "configuration.yaml")
    assert main(["init", "--from", str(source)]) == 0
    assert f"wrote intents.yaml (your Home Assistant intents from {source}, in our form: 1 intent)" in (
        capsys.readouterr().out
    )


def test_init_converts_a_home_assistant_block_into_the_same_skill(tmp_path, capsys):
    source = write(tmp_path, HA_CONFIG, "configuration.yaml")
    assert main(["init", "--from", str(source), "--intent-map", "mine.yaml"]) == 0
    out = capsys.readouterr().out
    assert f"wrote mine.yaml (your Home Assistant intents from {source}, in our form: 2 intents)" in out
    assert "first give mine.yaml an invocation_name and samples" in out
    converted = (tmp_path / "mine.yaml").read_text(encoding="utf-8")
    assert "\nalexa:" not in converted and "\nintent_script:" not in converted
    assert "# left out, no meaning here: mode: single" in converted
    assert "# slots: {Room: AMAZON.SearchQuery}" in converted
    assert load_intent_map(tmp_path / "mine.yaml").form == "native"
    assert "FAMILY_TOKEN=\nFAMILY_USER=\n" in (tmp_path / ".env").read_text(encoding="utf-8")
    assert main(["check", "--intent-map", "mine.yaml"]) == 0
    assert "0 warnings" in capsys.readouterr().out
    for intent, slot in [("LocateIntent", "User=Paulus"), ("EmergencyIntent", "Room=kitchen")]:
        results = []
        for path in (source, tmp_path / "mine.yaml"):
            assert main(["simulate", "--intent-map", str(path), intent, slot, "--json"]) == 0
            results.append(json.loads(capsys.readouterr().out))
        assert results[0] == results[1]
        assert results[0]["notifications"]


def test_init_converts_a_pasted_block_from_stdin(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(HA_CONFIG))
    assert main(["init", "--from", "-"]) == 0
    assert load_intent_map(tmp_path / "intents.yaml").intents.keys() == {"LocateIntent", "EmergencyIntent"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intents: {A: {notify: {message: hi}}}\n", "already in our own form: copy it, nothing to convert"),
        ("alexa:\n  intents:\n    A:\n      action: {action: light.turn_on}\n", "only notify actions can be run here"),
        ("alexa:\n  intents:\n    A: 1\n", "intent A must be a mapping"),
        ("alexa:\n  intents: [\n", "the file ends while a"),
    ],
)
def test_init_refuses_what_it_cannot_convert_and_writes_nothing(tmp_path, capsys, text, message):
    source = write(tmp_path, text, "configuration.yaml")
    assert main(["init", "--from", str(source)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{source}:") and message in err
    assert not (tmp_path / "intents.yaml").exists() and not (tmp_path / ".env").exists()


def test_init_from_a_file_that_does_not_exist(tmp_path, capsys):
    assert main(["init", "--from", "nowhere.yaml"]) == 1
    assert capsys.readouterr().err.strip() == "nowhere.yaml: file not found"


def test_the_repository_ignores_the_secret_files_the_docs_name():
    ignored = set((ROOT / ".gitignore").read_text(encoding="utf-8").splitlines())
    docs = "".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *ROOT.glob("docs/*.md")])
    for name in (".env", "pushover.env", "pushover.json"):
        assert name in docs
        assert name in ignored


def test_init_converts_the_readme_configuration_yaml_with_its_launch_answer(tmp_path, monkeypatch, capsys):
    from tests.test_docs_home_assistant import configuration_yaml

    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP", "ALEXA_SKILL_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configuration.yaml").write_text(configuration_yaml(), encoding="utf-8")
    assert main(["init", "--from", "configuration.yaml"]) == 0
    imap = load_intent_map(str(tmp_path / "intents.yaml"))
    assert imap.form == "native" and list(imap.intents) == ["LocateIntent"]
    assert list(imap.launch_answers) == ["amzn1.ask.skill.11111111-2222-3333-4444-555555555555"]
    capsys.readouterr()
    assert main(["simulate", "--launch"]) == 0
    out = capsys.readouterr().out
    assert "Alexa says: Family notes here. Whom should I locate?\nReprompt:   Whom should I locate?\n" in out


def test_init_carries_every_launch_answer_and_session_end_over(tmp_path, monkeypatch, capsys):
    """What was pasted keeps working: the converted map plays launch and session end as the pasted file does."""
    skill = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
    other = "amzn1.ask.skill.99999999-2222-3333-4444-555555555555"
    text = f"""
intent_script:
  {skill}:
    action: {{action: notify.notify, data: {{message: opened}}}}
    speech: {{text: Hello}}
    reprompt: {{text: "What now?"}}
  {other}:
    speech: {{text: Other}}
  {skill}.SessionEndedRequest:
    action:
      - action: notify.notify
        data: {{message: "ended: {{{{ reason }}}}{{% if error %}} {{{{ error.type }}}}{{% endif %}}", title: Bye}}
  PingIntent:
    action: {{action: notify.notify, data: {{message: ping}}}}
"""
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP", "ALEXA_SKILL_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configuration.yaml").write_text(text, encoding="utf-8")
    assert main(["init", "--from", "configuration.yaml"]) == 0
    out = capsys.readouterr().out
    assert "in our form: 1 intent, 2 launch answers, 1 session end)" in out
    written = (tmp_path / "intents.yaml").read_text(encoding="utf-8")
    assert "left out" not in written and "\nlaunch:" not in written
    imap = load_intent_map(str(tmp_path / "intents.yaml"))
    assert imap.form == "native" and list(imap.intents) == ["PingIntent"]
    assert list(imap.launch_answers) == [skill, other]
    assert list(imap.session_ends) == [f"{skill}.SessionEndedRequest"]

    def played(path: str, *request: str) -> dict:
        assert main(["simulate", *request, "--json", "--intent-map", path]) == 0
        printed = json.loads(capsys.readouterr().out)
        return {"said": printed["response"]["response"], "sent": printed["notifications"]}

    for request in (["--launch"], ["--session-ended"], ["--session-ended", "--error", "ENDPOINT_TIMEOUT"]):
        assert played("intents.yaml", *request) == played("configuration.yaml", *request), request
    assert played("intents.yaml", "--session-ended", "--error", "ENDPOINT_TIMEOUT")["sent"][0]["params"] == {
        "message": "ended: ERROR ENDPOINT_TIMEOUT",
        "title": "Bye",
    }
    monkeypatch.setenv("ALEXA_SKILL_ID", other)
    assert played("intents.yaml", "--launch") == played("configuration.yaml", "--launch")
    assert played("intents.yaml", "--launch")["said"]["outputSpeech"]["ssml"] == "<speak>Other</speak>"
