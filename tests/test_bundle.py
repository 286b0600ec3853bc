"""The pre-validated intent map of the Lambda bundle: used only when current, else the YAML is validated."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skill.bundle import artifact_path, load_bundled_map, main, source_digest, write_prevalidated
from skill.errors import ConfigError
from skill.intent_map import load_intent_map
from tests.fake_pushover import TOKEN, USER
from tests.helpers import make_service, run, speech, write

ROOT = Path(__file__).resolve().parent.parent
SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"

MAP = """
intents:
  LocateIntent:
    samples: ["where is {User}"]
    slots:
      User: {type: AMAZON.FirstName}
    notify:
      message: "Where is {{ User }}?"
      target: pixel
    speech: "OK, I asked {{ User }}'s phone."
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "intents.yaml"
    shutil.copyfile(ROOT / "intents.yaml", path)
    return path


def test_the_prevalidated_map_is_the_validated_map(example: Path):
    write_prevalidated(example)
    loaded, validated = load_bundled_map(example), load_intent_map(example)
    assert loaded.path == str(example)
    assert sorted(loaded.intents) == sorted(validated.intents)
    assert loaded.intents["LocateIntent"] == validated.intents["LocateIntent"]
    assert loaded.launch == validated.launch


def test_its_templates_compile_on_first_render_and_speak_like_the_validated_ones(tmp_path: Path):
    path = write(tmp_path, MAP)
    write_prevalidated(path)
    answers = []
    for imap in (load_bundled_map(path), load_intent_map(path)):
        service = make_service(imap)
        answers.append(speech(run(service, "LocateIntent", {"User": "Paulus"})))
        service.close()
    assert answers == ["OK, I asked Paulus's phone.", "OK, I asked Paulus's phone."]


def test_a_map_changed_after_the_build_is_validated_again(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = write(tmp_path, MAP)
    write_prevalidated(path)
    path.write_text(MAP.replace("where is {User}", "find {User}"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="skill.bundle"):
        imap = load_bundled_map(path)
    assert imap.intents["LocateIntent"].samples["default"] == ["find {User}"]
    assert "is stale" in caplog.text


def test_a_stale_prevalidated_map_never_hides_a_broken_one(tmp_path: Path):
    path = write(tmp_path, MAP)
    write_prevalidated(path)
    path.write_text(MAP.replace("message:", "mesage:"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_bundled_map(path)
    assert "mesage" in str(caught.value)


@pytest.mark.parametrize(
    "header",
    [
        {"format": 0},
        {"format": 1, "yaml_sha256": "?", "source_sha256": "?"},  # the first layout
        {"format": 2, "yaml": "?", "source": "?"},
        "yaml-sha",  # the stamps of the right map but from other code, below
    ],
)
def test_a_foreign_or_old_file_is_never_unpickled(tmp_path: Path, header, caplog: pytest.LogCaptureFixture):
    path = write(tmp_path, MAP)
    target = Path(write_prevalidated(path))
    if header == "yaml-sha":
        header = json.loads(target.read_bytes().splitlines()[0])
        header["source"] = "0:0:00000000"
    # Unpickling this body would raise: the loader must stop at the header.
    target.write_bytes(json.dumps(header).encode() + b"\nnot a pickle")
    with caplog.at_level(logging.WARNING, logger="skill.bundle"):
        imap = load_bundled_map(path)
    assert sorted(imap.intents) == ["LocateIntent"]
    assert "validating intents.yaml" in caplog.text
    assert "cannot read" not in caplog.text


def test_a_truncated_file_is_logged_and_the_yaml_validated(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    path = write(tmp_path, MAP)
    target = Path(write_prevalidated(path))
    target.write_bytes(target.read_bytes()[:-20])
    with caplog.at_level(logging.WARNING, logger="skill.bundle"):
        imap = load_bundled_map(path)
    assert sorted(imap.intents) == ["LocateIntent"]
    assert "cannot read" in caplog.text


def test_without_the_file_the_yaml_is_validated(tmp_path: Path):
    path = write(tmp_path, MAP)
    assert not Path(artifact_path(path)).exists()
    assert sorted(load_bundled_map(path).intents) == ["LocateIntent"]


def test_the_source_digest_follows_every_source_file(tmp_path: Path):
    package = tmp_path / "skill"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 1\n")
    seen = {source_digest(package)}
    (package / "sub" / "b.py").write_text("B = 2\n")  # a changed byte
    seen.add(source_digest(package))
    (package / "sub" / "b.py").rename(package / "sub" / "c.py")  # the same bytes under another name
    seen.add(source_digest(package))
    (package / "d.py").write_text("")  # an empty file more
    seen.add(source_digest(package))
    (package / "notes.txt").write_text("not source")  # not a source file: no change
    seen.add(source_digest(package))
    assert len(seen) == 4


def test_the_command_writes_the_file_or_prints_the_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    good = write(tmp_path, MAP)
    assert main([str(good)]) == 0
    assert Path(artifact_path(good)).is_file()
    bad = write(tmp_path, MAP.replace("message:", "mesage:"), name="bad.yaml")
    assert main([str(bad)]) == 1
    assert not Path(artifact_path(bad)).exists()
    assert "bad.yaml:" in capsys.readouterr().err
    assert main([]) == 2


def test_on_lambda_a_launch_loads_no_jinja_yaml_or_requests_and_a_locate_sends(example: Path, fake_pushover):
    write_prevalidated(example)
    code = """
import json, sys
from skill import lambda_function
from skill.alexa import build_request_envelope as envelope
launch = lambda_function.handler(envelope("LaunchRequest", application_id=sys.argv[1]), None)
after_launch = sorted(sys.modules)
locate = lambda_function.handler(envelope("IntentRequest", "LocateIntent", {"User": "Paulus"},
                                          application_id=sys.argv[1]), None)
after_locate = sorted(sys.modules)
print(json.dumps({"launch": launch, "after_launch": after_launch, "locate": locate, "after_locate": after_locate}))
"""
    env = {  # as on Lambda: no proxy or CA-bundle variables (they would open the HTTP session at once)
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PUSHOVER_", "ALEXA_", "AWS_", "INTENT_MAP"))
        and not k.lower().endswith("_proxy")
        and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    }
    env.update(
        AWS_LAMBDA_FUNCTION_NAME="skill", PUSHOVER_TOKEN=TOKEN, PUSHOVER_USER=USER, PUSHOVER_API_URL=fake_pushover.url,
        ALEXA_SKILL_ID=SKILL_ID, INTENT_MAP=str(example),
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", code, SKILL_ID], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    roots = {name: {m.split(".")[0] for m in out[name]} for name in ("after_launch", "after_locate")}
    assert "Family notes here" in out["launch"]["response"]["outputSpeech"]["ssml"]
    assert not roots["after_launch"] & {"jinja2", "yaml", "requests", "urllib3"}
    assert "Paulus" in out["locate"]["response"]["outputSpeech"]["ssml"]
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == "The location of Paulus has been queried via Alexa."
    assert {"jinja2", "requests"} <= roots["after_locate"]
    assert "yaml" not in roots["after_locate"]  # the map was not read again
