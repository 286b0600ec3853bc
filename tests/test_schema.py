"""The JSON Schema for editors and the loader never disagree on a key.

Every example map (intents.yaml, each YAML block of README.md and docs/*.md) and every map written
in a test goes through both: what the schema refuses, the loader refuses; a key the loader refuses
as unknown, the schema refuses at the same place. Then each example gets a stray key in every
mapping it has, and the two must still agree.
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from skill.errors import ConfigError
from skill.intent_map import parse_intent_map
from skill.schema import SCHEMA_PATH, build_schema, load_schema, render_schema
from tests.test_docs import yaml_blocks

ROOT = Path(__file__).parent.parent
VALIDATOR = jsonschema.Draft7Validator(load_schema())
STRAY = "zzTypo"


def example_maps() -> list[tuple[str, str]]:
    maps = [("intents.yaml", (ROOT / "intents.yaml").read_text(encoding="utf-8"))]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for index, block in enumerate(yaml_blocks(path)):
            maps.append((f"{path.relative_to(ROOT)} block {index + 1}", block))
    return maps


def test_maps() -> list[tuple[str, str]]:
    """Every intent map written as a string constant in the test suite."""
    found: dict[str, str] = {}
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in parts:
                continue  # a piece of an f-string is not a map
            text = textwrap.dedent(node.value)
            if any(key in text for key in ("intents:", "intent_script:")) and text not in found.values():
                found[f"{path.name}:{node.lineno}"] = text
    return list(found.items())


test_maps.__test__ = False  # a collector, not a test


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor configured for Home Assistant reads it: ``!secret x`` is a plain value."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


_EditorLoader.add_multi_constructor("!", _tagged)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_EditorLoader)  # noqa: S506 - a SafeLoader subclass


def as_json(value: Any) -> Any:
    """What an editor's YAML server hands the schema: string keys, dates as text."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def schema_errors(data: Any) -> list[jsonschema.ValidationError]:
    """Every error, the ones inside anyOf/oneOf included."""
    found: list[jsonschema.ValidationError] = []
    pending = list(VALIDATOR.iter_errors(as_json(data)))
    while pending:
        error = pending.pop()
        found.append(error)
        pending.extend(error.context or [])
    return found


def loader_problems(text: str) -> list[str] | None:
    """The loader's error messages, or None when it accepts the map."""
    try:
        parse_intent_map(text, "map.yaml")
    except ConfigError as err:
        return [p.message for p in err.problems if p.severity == "error"]
    return None


def unknown_key_refused(errors: list[jsonschema.ValidationError], key: str, path: list[Any]) -> bool:
    """True when the schema refuses ``key`` in the mapping at ``path``, as an editor would underline it."""
    wanted = [str(p) for p in path]
    for error in errors:
        if [str(p) for p in error.absolute_path] != wanted:
            continue
        if error.validator == "additionalProperties" and repr(key) in error.message:
            return True
        if error.validator == "propertyNames" and repr(key) in error.message:
            return True
    return False


def check_agreement(name: str, text: str) -> None:
    data = load_yaml(text)
    problems = loader_problems(text)
    errors = schema_errors(data)
    if errors:
        assert problems, f"{name}: the schema refuses what the loader accepts: {errors[0].message}"
    for message in problems or []:
        if message.startswith("unknown key "):
            key = message.split("'")[1]
            assert any(repr(key) in e.message for e in errors), f"{name}: the schema accepts {key!r}: {message}"


# --------------------------------------------------------------------------- one source of truth


def test_committed_schema_is_what_the_loader_tables_generate():
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        committed = handle.read()
    assert committed == render_schema(), "skill/schema/intent_map.schema.json is out of date: python -m skill.schema"


def test_schema_is_a_valid_draft_7_schema():
    jsonschema.Draft7Validator.check_schema(build_schema())


def test_schema_check_command_refuses_a_stale_file_and_names_the_fix(tmp_path):
    """``python -m skill.schema --check`` is what a pre-commit hook runs."""
    command = [sys.executable, "-m", "skill.schema", "--check"]
    fresh = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert fresh.returncode == 0, fresh.stderr
    stale = tmp_path / "old.schema.json"
    stale.write_text(render_schema().replace('"minItems": 1', '"minItems": 0'), encoding="utf-8")
    result = subprocess.run([*command, str(stale)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert "run `python -m skill.schema`" in result.stderr


def run_schema(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m skill.schema ARGS`` as a person types it, from ``cwd``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "skill.schema", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)


def test_schema_help_prints_usage_and_writes_no_file(tmp_path):
    result = run_schema(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m skill.schema [-h] [--check] [path]")
    assert "--check" in result.stdout and "examples:" in result.stdout
    assert "python -m skill.schema --check" in result.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--check", "--bogus"], "unrecognized arguments: --bogus"),
        (["-x"], "unrecognized arguments: -x"),
        (["--", "-x"], "path '-x' starts with '-'"),
        (["--check", "--", "-"], "path '-' starts with '-'"),
    ],
)
def test_schema_refuses_an_unknown_option_or_a_path_like_one_and_creates_nothing(tmp_path, args, named):
    result = run_schema(args, tmp_path)
    assert result.returncode == 2
    assert named in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_schema_main_writes_the_path_given_and_checks_it(tmp_path, capsys, monkeypatch):
    from skill.schema.__main__ import main

    monkeypatch.chdir(tmp_path)  # a mistaken argument taken as a path would land here, and fail the last line
    target = tmp_path / "map.schema.json"
    assert main([str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target}\n"
    assert target.read_text(encoding="utf-8") == render_schema()
    assert main(["--check", str(target)]) == 0
    assert main(["--check", str(tmp_path / "missing.json")]) == 1
    assert main(["--help"]) == 0
    assert main(["--nope"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.schema.json"]


def test_example_map_names_the_schema_for_editors():
    first = (ROOT / "intents.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    target = ROOT / first.split("=", 1)[1].strip()
    assert target.resolve() == Path(SCHEMA_PATH).resolve()


@pytest.mark.parametrize(("name", "text"), example_maps(), ids=[n for n, _ in example_maps()])
def test_every_example_map_is_valid_for_loader_and_schema(name, text):
    assert loader_problems(text) is None
    assert [e.message for e in VALIDATOR.iter_errors(as_json(load_yaml(text)))] == []


@pytest.mark.parametrize(("name", "text"), test_maps(), ids=[n for n, _ in test_maps()])
def test_every_map_in_the_tests_gets_the_same_verdict(name, text):
    try:
        load_yaml(text)
    except yaml.YAMLError:
        pytest.skip("not YAML (a deliberate syntax error): the loader's business alone")
    check_agreement(name, text)


def test_the_loader_tests_refuse_unknown_keys_and_so_does_the_schema():
    """The collector above really meets the loader's unknown-key cases (it is not vacuous)."""
    refused = [
        text for _, text in test_maps() if any(m.startswith("unknown key ") for m in loader_problems(text) or [])
    ]
    assert len(refused) >= 3
    for text in refused:
        assert schema_errors(load_yaml(text))


# --------------------------------------------------------------------------- a stray key everywhere


def mappings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every mapping in a YAML tree."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        found.append(path)
        for key, item in value.items():
            found += mappings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += mappings(item, (*path, index))
    return found


def with_stray_key(data: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(as_json(data)))
    node = copy
    for step in path:
        node = node[str(step) if isinstance(node, dict) else step]
    node[STRAY] = "x"
    return copy


@pytest.mark.parametrize(("name", "text"), example_maps(), ids=[n for n, _ in example_maps()])
def test_a_stray_key_in_any_mapping_gets_the_same_verdict(name, text):
    data = load_yaml(text)
    refused = 0
    for path in mappings(data):
        changed = with_stray_key(data, path)
        problems = loader_problems(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False))
        errors = schema_errors(changed)
        where = "/".join(map(str, path)) or "top level"
        if any(m.startswith(f"unknown key {STRAY!r}") for m in problems or []):
            assert unknown_key_refused(errors, STRAY, list(path)), f"{name}: schema accepts a stray key at {where}"
            refused += 1
        if errors:
            assert problems, f"{name}: schema refuses a stray key at {where} that the loader accepts"
    assert refused, f"{name}: no mapping refused a stray key, so nothing was compared"


# --------------------------------------------------------------------------- what an editor shows


def test_a_typo_is_flagged_with_its_path_as_an_editor_shows_it():
    data = load_yaml(
        textwrap.dedent(
            """
            intents:
              LocateIntent:
                notify:
                  mesage: "Where is {{ User }}?"
                  target: pixel
            """
        )
    )
    errors = schema_errors(data)
    assert unknown_key_refused(errors, "mesage", ["intents", "LocateIntent", "notify"])
    # ... and the same file through the loader says it at file:line:col
    with pytest.raises(ConfigError) as caught:
        parse_intent_map(yaml.safe_dump(data, sort_keys=False), "typo.yaml")
    assert any("unknown key 'mesage'" in str(p) for p in caught.value.problems)


@pytest.mark.parametrize(
    ("text", "path", "key"),
    [
        ("intents: {A: {notify: {message: hi}, spech: hello}}", ["intents", "A"], "spech"),
        ("intents: {A: {notify: {message: hi}}}\ninvocaton_name: x", [], "invocaton_name"),
        ("intents: {A: {slots: {User: {typ: AMAZON.FirstName}}}}", ["intents", "A", "slots", "User"], "typ"),
        (
            "alexa: {intents: {A: {action: {action: notify.notify, data: {message: hi, colour: red}}}}}",
            ["alexa", "intents", "A", "action", "data"],
            "colour",
        ),
        (
            "intent_script: {A: {action: {action: notify.notify, data: {message: hi, data: {priorty: 1}}}}}",
            ["intent_script", "A", "action", "data", "data"],
            "priorty",
        ),
        ("alexa: {intents: {A: {speech: hi, reprompt: again}}}", ["alexa", "intents", "A"], "reprompt"),
    ],
    ids=["intent", "top-level", "slot", "ha-data", "ha-nested-data", "alexa-has-no-reprompt"],
)
def test_typos_in_every_form_are_flagged_where_they_stand(text, path, key):
    assert any(m.startswith(f"unknown key {key!r}") for m in loader_problems(text) or [])
    assert unknown_key_refused(schema_errors(load_yaml(text)), key, path)


def test_home_assistant_configuration_keys_stay_allowed_as_the_loader_only_warns():
    text = "homeassistant: {name: Home}\nalexa: {smart_home: {}, intents: {A: {speech: hi}}}\n"
    imap = parse_intent_map(text, "configuration.yaml")
    assert any("'homeassistant'" in w.message for w in imap.warnings)
    assert schema_errors(load_yaml(text)) == []


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("alexa: {}\nintent_script: {A: {speech: hi}}\n", True),
        ("alexa: {}\n", False),
        ("alexa:\n", False),
        ("intent_script: {amzn1.ask.skill.0a1b-2c3d: {speech: hello}, A: {speech: hi}}\n", True),
        ('intents: {"AMAZON.PlaybackAction<object@MusicCreativeWork>": {speech: playing}}\n', True),
    ],
    ids=["alexa-switch-beside-intent-script", "alexa-alone-without-intents", "alexa-null", "launch-answer", "library"],
)
def test_forms_where_a_block_is_optional_or_a_name_is_special(text, accepted):
    assert (loader_problems(text) is None) == accepted
    assert (schema_errors(load_yaml(text)) == []) == accepted
