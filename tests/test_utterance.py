"""What Amazon's model build refuses, `check` and `model` refuse first, naming file:line:col.

Custom intent, slot and slot type names: letters and underscores only (AMAZON.* excepted). Samples:
letters, spaces, apostrophes, hyphens, underscores and periods of abbreviations around ``{Slot}``
references; numbers spelled out; a phrase slot (AMAZON.SearchQuery) never alone. The endpoint of an
ASK CLI package: HTTPS on port 443.
"""

from __future__ import annotations

import pytest

from skill.__main__ import main
from skill.intent_map import parse_intent_map
from skill.model import generate_models
from skill.utterance import sample_problems
from tests.helpers import write

MAP = """\
invocation_name: family notes
slot_types:
  {type_name}:
    values: [pixel]
intents:
  {intent}:
    samples: [{sample}]
    slots: {{{slot}: {slot_type}}}
    notify: {{message: "for {{{{ {slot} }}}}"}}
"""


def a_map(
    *,
    intent: str = "LocateIntent",
    sample: str = '"where is {User}"',
    slot: str = "User",
    slot_type: str = "AMAZON.FirstName",
    type_name: str = "DeviceName",
) -> str:
    return MAP.format(intent=intent, sample=sample, slot=slot, slot_type=slot_type, type_name=type_name)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP"):
        monkeypatch.delenv(name, raising=False)


def check(tmp_path, text: str, capsys) -> tuple[int, str]:
    path = write(tmp_path, text, "map.yaml")
    status = main(["check", "--intent-map", str(path)])
    return status, capsys.readouterr().err


def model(tmp_path, text: str, capsys) -> tuple[int, str]:
    path = write(tmp_path, text, "map.yaml")
    status = main(["model", "--intent-map", str(path), "--out", str(tmp_path / "models")])
    return status, capsys.readouterr().err


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("fields", "where", "name"),
    [
        ({"intent": "Locate2Intent"}, "6:3", "intent name 'Locate2Intent'"),
        ({"slot": "User1", "sample": '"where is {User1}"'}, "8:13", "LocateIntent: slot name 'User1'"),
        ({"slot_type": "Device2", "type_name": "Device2"}, "3:3", "slot type name 'Device2'"),
        ({"intent": "Locate.Intent"}, "6:3", "intent name 'Locate.Intent'"),
    ],
    ids=["intent-digit", "slot-digit", "slot-type-digit", "intent-dot"],
)
def test_check_and_model_refuse_names_amazon_refuses(tmp_path, capsys, fields, where, name):
    text = a_map(**fields)
    assert parse_intent_map(text, "map.yaml").intents  # the runtime serves the map as it is
    status, err = check(tmp_path, text, capsys)
    assert status == 1
    assert f"map.yaml:{where}: {name}" in err and "letters and underscores only" in err
    status, err = model(tmp_path, text, capsys)
    assert status == 1
    assert f"map.yaml:{where}: {name}" in err
    assert not (tmp_path / "models").exists()


def test_underscores_and_builtin_names_pass(tmp_path, capsys):
    text = a_map(intent="Locate_Person_Intent", slot="First_Name", sample='"where is {First_Name}"')
    text += "  AMAZON.StopIntent:\n    samples: [enough]\n    speech: bye\n"
    status, err = model(tmp_path, text, capsys)
    assert (status, err) == (0, "")


def test_library_intent_names_go_to_the_runtime_not_into_the_model(tmp_path, capsys):
    text = a_map() + '  "AMAZON.PlaybackAction<object@MusicCreativeWork>":\n    speech: playing\n'
    status, err = check(tmp_path, text, capsys)
    assert status == 0, err
    assert "letters and underscores" not in err


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize(
    ("sample", "says"),
    [
        ('"where is {User} 2day"', "spell numbers out ('2' as a word)"),
        ('"call {User} at 5"', "spell numbers out ('5' as a word)"),
        ('"where is {User}?"', "refuses '?'"),
        ('"where is {User}, please"', "refuses ','"),
        ('"send {User} 50% & more!"', "refuses '!', '%', '&'"),
        ('"where is {User} ²"', "spell numbers out ('²' as a word)"),
    ],
)
def test_samples_with_digits_or_punctuation_are_refused_where_they_stand(tmp_path, capsys, sample, says):
    status, err = check(tmp_path, a_map(sample=sample), capsys)
    assert status == 1
    assert f"map.yaml:7:15: LocateIntent: sample {sample.strip(chr(34))!r}" in err
    assert says in err


@pytest.mark.parametrize(
    "sample",
    [
        "where is {User}",
        "where's {User}'s phone",
        "where is {User}’s phone",
        "wake {User} at seven a. m.",
        "find {User} on the t-mobile phone",
        "find_{User}",
        "wo ist {User} in der Küche",
        "où est {User}",
        "{User}",
    ],
)
def test_samples_amazon_accepts_pass(sample):
    generated = generate_models(parse_intent_map(a_map(sample=f'"{sample}"'), "map.yaml"))
    assert generated.errors == []


def test_a_phrase_slot_alone_needs_a_carrier_phrase(tmp_path, capsys):
    text = a_map(slot="Text", slot_type="AMAZON.SearchQuery", sample='"{Text}", "note {Text}"')
    status, err = model(tmp_path, text, capsys)
    assert status == 1
    assert "map.yaml:7:15: LocateIntent: sample '{Text}' is only a slot of type AMAZON.SearchQuery" in err
    assert "carrier phrase" in err
    assert "'note {Text}'" not in err


def test_sample_rules_one_by_one():
    types = {"Text": "AMAZON.SearchQuery", "User": "AMAZON.FirstName"}
    assert sample_problems("note {Text}", types) == []
    assert sample_problems("{User} {Text}", types)  # only slots, one a phrase
    assert sample_problems("{User}", types) == []  # only a slot, not a phrase
    assert sample_problems("नमस्ते {User}", types) == []  # Devanagari vowel signs are marks of letters
    assert len(sample_problems("2 {User}?", types)) == 2


# --------------------------------------------------------------------------- the endpoint


@pytest.mark.parametrize(
    ("endpoint", "status"),
    [
        ("https://notes.example.org:8443/alexa", 2),
        ("https://notes.example.org:5000/alexa", 2),
        ("https://notes.example.org:443/alexa", 0),
        ("https://notes.example.org/alexa", 0),
    ],
)
def test_ask_cli_endpoint_must_be_https_on_port_443(tmp_path, capsys, endpoint, status):
    path = write(tmp_path, a_map(), "map.yaml")
    argv = ["model", "--intent-map", str(path), "--out", str(tmp_path / "m"), "--ask-cli", str(tmp_path / "p")]
    assert main([*argv, "--endpoint", endpoint]) == status
    err = capsys.readouterr().err
    if status:
        assert "Alexa calls HTTPS endpoints on port 443 only" in err
        assert not (tmp_path / "p").exists()
    else:
        assert (tmp_path / "p" / "skill-package" / "skill.json").is_file()
