"""Interaction models: generation from the map, the committed files, drift and naming checks, the ASK CLI package."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from skill.__main__ import main
from skill.intent_map import load_intent_map, parse_intent_map
from skill.model import (
    BUILTIN_INTENTS,
    build_skill_manifest,
    generate_models,
    invocation_name_problems,
    model_locales,
    render_model,
)
from tests.helpers import parse, write

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "intents.yaml"
COMMITTED = ROOT / "interaction_models"
DOC = ROOT / "docs" / "interaction-model.md"

BASE = """
invocation_name: house notes
intents:
  PingIntent:
    samples: ["ping {Who}", "say hello to {Who}"]
    slots:
      Who: AMAZON.FirstName
    notify: {message: "ping {{ Who }}"}
  QuietIntent:
    samples: ["be quiet"]
    notify: {message: quiet}
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No settings leak in from the machine running the tests."""
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "INTENT_MAP", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)


def model_of(text: str, locale: str = "en-US") -> dict:
    return generate_models(parse(text)).models[locale]["interactionModel"]


def intent(model: dict, name: str) -> dict:
    return next(i for i in model["languageModel"]["intents"] if i["name"] == name)


def check(path: Path, models: Path | None = None) -> int:
    return main(["check", "--intent-map", str(path), *(["--models", str(models)] if models else [])])


# --------------------------------------------------------------------------- the example and the committed files


def test_committed_models_equal_what_the_example_generates():
    generated = generate_models(load_intent_map(EXAMPLE))
    assert generated.problems == []
    assert sorted(p.name for p in COMMITTED.glob("*.json")) == ["de-DE.json", "en-US.json"]
    for locale, text in generated.texts.items():
        assert (COMMITTED / f"{locale}.json").read_bytes() == text.encode("utf-8"), f"{locale}: run make model"


def test_model_command_writes_the_committed_files(tmp_path, capsys):
    out = tmp_path / "models"
    assert main(["model", "--intent-map", str(EXAMPLE), "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["de-DE.json", "en-US.json"]
    for name in ("de-DE.json", "en-US.json"):
        assert (out / name).read_bytes() == (COMMITTED / name).read_bytes()
    assert f"wrote {out / 'en-US.json'}" in capsys.readouterr().out


def test_check_passes_with_the_committed_models(capsys):
    assert check(EXAMPLE, COMMITTED) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "OK (native form)" in captured.out


def test_example_model_shape():
    model = json.loads((COMMITTED / "de-DE.json").read_text(encoding="utf-8"))["interactionModel"]
    language = model["languageModel"]
    assert language["invocationName"] == "familien notizen"
    names = [i["name"] for i in language["intents"]]
    assert names[:5] == list(BUILTIN_INTENTS)
    assert names[5:] == [
        "LocateIntent",
        "EmergencyIntent",
        "CancelAlertIntent",
        "MessageDeviceIntent",
        "ShoppingIntent",
    ]
    assert intent(model, "LocateIntent") == {
        "name": "LocateIntent",
        "slots": [{"name": "User", "type": "AMAZON.FirstName"}],
        "samples": ["wo ist {User}", "finde {User}"],
    }
    (device_type,) = language["types"]
    assert device_type["values"][1] == {
        "id": "pixel3",
        "name": {"value": "pixel3", "synonyms": ["pixel three"]},
    }
    assert model["dialog"]["delegationStrategy"] == "SKILL_RESPONSE"
    assert [i["name"] for i in model["dialog"]["intents"]] == ["LocateIntent", "EmergencyIntent", "MessageDeviceIntent"]
    prompts = {p["id"]: p["variations"][0]["value"] for p in model["prompts"]}
    assert prompts["Elicit.Slot.LocateIntent.User"] == "Wen soll ich suchen?"
    assert prompts["Confirm.Intent.EmergencyIntent"].startswith("Das sendet einen Notruf")


def test_files_are_deterministic_utf8_with_a_final_newline():
    imap = load_intent_map(EXAMPLE)
    first, second = generate_models(imap).texts, generate_models(load_intent_map(EXAMPLE)).texts
    assert first == second
    text = first["de-DE"]
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert "Gerät" in text and "\\u" not in text
    assert text.startswith('{\n  "interactionModel": {\n    "languageModel": {\n      "invocationName"')


def test_the_documented_example_generates_cleanly():
    (block,) = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    generated = generate_models(parse_intent_map(block, "docs/interaction-model.md"))
    assert generated.problems == []
    assert sorted(generated.models) == ["de-DE", "en-US"]
    prompts = generated.models["en-US"]["interactionModel"]["prompts"]
    assert [p["variations"][0]["value"] for p in prompts] == [
        "Send {Text} to {Device}?",
        "Which device?",
        "What is the text?",
    ]


# --------------------------------------------------------------------------- generation


def test_builtin_intents_always_and_nothing_else_without_need():
    model = model_of(BASE)
    assert [i["name"] for i in model["languageModel"]["intents"]] == [*BUILTIN_INTENTS, "PingIntent", "QuietIntent"]
    assert all(i["samples"] == [] for i in model["languageModel"]["intents"][:5])
    assert intent(model, "QuietIntent") == {"name": "QuietIntent", "samples": ["be quiet"]}
    assert model["languageModel"]["types"] == []
    assert "dialog" not in model and "prompts" not in model


def test_map_samples_extend_builtin_intents_and_other_amazon_intents_are_added():
    model = model_of(
        BASE
        + """
  AMAZON.HelpIntent:
    samples: ["what can you do"]
    speech: "Say ping."
  AMAZON.YesIntent:
    samples: []
    speech: "Fine."
"""
    )
    names = [i["name"] for i in model["languageModel"]["intents"]]
    assert names == [*BUILTIN_INTENTS, "AMAZON.YesIntent", "PingIntent", "QuietIntent"]
    assert intent(model, "AMAZON.HelpIntent")["samples"] == ["what can you do"]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("invocation_name: house notes\n", ["en-US"]),
        ("invocation_name: {en-GB: house notes, de-DE: haus notizen}\n", ["de-DE", "en-GB"]),
        ("invocation_name: house notes\nlocales: [en-US, en-GB, de-DE]\n", ["en-US", "en-GB", "de-DE"]),
    ],
)
def test_locales(head, expected):
    text = head + BASE.split("\n", 2)[2]
    assert model_locales(parse(text)) == expected


def test_default_key_applies_to_every_locale_and_a_language_key_to_its_locales():
    text = """
    invocation_name: {default: house notes, de: haus notizen}
    locales: [en-US, en-GB, de-DE, de-AT]
    intents:
      QuietIntent:
        samples: {default: ["be quiet"], de: ["ruhe bitte"]}
        notify: {message: quiet}
    """
    generated = generate_models(parse(text))
    assert generated.problems == []
    for locale, name, sample in [
        ("en-US", "house notes", "be quiet"),
        ("en-GB", "house notes", "be quiet"),
        ("de-DE", "haus notizen", "ruhe bitte"),
        ("de-AT", "haus notizen", "ruhe bitte"),
    ]:
        language = generated.models[locale]["interactionModel"]["languageModel"]
        assert language["invocationName"] == name
        assert intent({"languageModel": language}, "QuietIntent")["samples"] == [sample]


def test_an_intent_without_samples_for_a_locale_is_left_out_with_a_warning():
    text = """
    invocation_name: {en-US: house notes, de-DE: haus notizen}
    intents:
      QuietIntent:
        samples: {en-US: ["be quiet"]}
        notify: {message: quiet}
    """
    generated = generate_models(parse(text))
    assert [str(p) for p in generated.problems] == [
        "map.yaml:4:14: warning: intent QuietIntent has no samples for de-DE; it is left out of the de-DE model"
    ]
    de = generated.models["de-DE"]["interactionModel"]["languageModel"]["intents"]
    assert [i["name"] for i in de] == list(BUILTIN_INTENTS)


def test_custom_types_only_when_used_in_map_order_with_ids_and_synonyms():
    text = """
    invocation_name: house notes
    slot_types:
      Unused: [a, b]
      Room:
        values:
          - {value: kitchen, id: KITCHEN, synonyms: [cook room]}
          - living room
      Color:
        values:
          de-DE: [rot]
          en-US: [red]
    intents:
      PaintIntent:
        samples: ["paint the {Room} {Color}"]
        slots: {Room: Room, Color: Color}
        notify: {message: "{{ Room }} {{ Color }}"}
    """
    model = model_of(text)
    assert model["languageModel"]["types"] == [
        {
            "name": "Room",
            "values": [
                {"id": "KITCHEN", "name": {"value": "kitchen", "synonyms": ["cook room"]}},
                {"id": "living room", "name": {"value": "living room"}},
            ],
        },
        {"name": "Color", "values": [{"id": "red", "name": {"value": "red"}}]},
    ]


def test_required_slots_and_confirmation_make_the_dialog_model():
    text = """
    invocation_name: house notes
    intents:
      SendIntent:
        samples: ["send {Text} to {Who}", "send a message"]
        slots:
          Who: {type: AMAZON.FirstName, required: true, prompt: "To whom?"}
          Text: {type: AMAZON.SearchQuery, required: true}
          Urgent: {type: AMAZON.SearchQuery, required: true, default: "no"}
          Note: AMAZON.SearchQuery
        confirm: "Send {{ Text }} to {{ Who }}?"
        notify: {message: "{{ Text }} {{ Urgent }} {{ Note }}", title: "{{ Who }}"}
    """
    model = model_of(text)
    assert model["dialog"] == {
        "delegationStrategy": "SKILL_RESPONSE",
        "intents": [
            {
                "name": "SendIntent",
                "confirmationRequired": True,
                "prompts": {"confirmation": "Confirm.Intent.SendIntent"},
                "slots": [
                    {
                        "name": "Who",
                        "type": "AMAZON.FirstName",
                        "confirmationRequired": False,
                        "elicitationRequired": True,
                        "prompts": {"elicitation": "Elicit.Slot.SendIntent.Who"},
                    },
                    {
                        "name": "Text",
                        "type": "AMAZON.SearchQuery",
                        "confirmationRequired": False,
                        "elicitationRequired": True,
                        "prompts": {"elicitation": "Elicit.Slot.SendIntent.Text"},
                    },
                ],
            }
        ],
    }
    assert model["prompts"] == [
        {"id": "Confirm.Intent.SendIntent", "variations": [{"type": "PlainText", "value": "Send {Text} to {Who}?"}]},
        {"id": "Elicit.Slot.SendIntent.Who", "variations": [{"type": "PlainText", "value": "To whom?"}]},
        {"id": "Elicit.Slot.SendIntent.Text", "variations": [{"type": "PlainText", "value": "What is the text?"}]},
    ]


def test_prompts_per_locale_and_builtin_prompt_in_german():
    text = """
    invocation_name: {en-US: house notes, de-DE: haus notizen}
    intents:
      SendIntent:
        samples: {en-US: ["send {Text}"], de-DE: ["sende {Text}"]}
        slots:
          Text: {type: AMAZON.SearchQuery, required: true}
          Who: {type: AMAZON.FirstName, required: true, prompt: {en-US: "To whom?", de-DE: "An wen?"}}
        notify: {message: "{{ Text }}", title: "{{ Who }}"}
    """
    generated = generate_models(parse(text))
    values = {
        locale: [p["variations"][0]["value"] for p in m["interactionModel"]["prompts"]]
        for locale, m in generated.models.items()
    }
    assert values == {"en-US": ["What is the text?", "To whom?"], "de-DE": ["Was ist text?", "An wen?"]}


def test_a_prompt_with_template_logic_gets_a_plain_text_and_a_warning():
    text = """
    invocation_name: house notes
    intents:
      SendIntent:
        samples: ["send {Text}"]
        slots:
          Text: {type: AMAZON.SearchQuery, required: true, prompt: "{% if locale %}What?{% endif %}"}
        notify: {message: "{{ Text }}"}
    """
    generated = generate_models(parse(text))
    (problem,) = generated.problems
    assert (problem.line, problem.severity, problem.code) == (6, "warning", "prompt-template")
    assert "template logic an interaction model cannot hold" in problem.message
    prompts = generated.models["en-US"]["interactionModel"]["prompts"]
    assert prompts[0]["variations"][0]["value"] == "What is the text?"


# --------------------------------------------------------------------------- check: rules on the map


MAP_RULES = [
    (
        "sample-unknown-slot",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples:
              - "ping {Who}"
              - "ping {Whom}"
            slots:
              Who: AMAZON.FirstName
            notify: {message: "ping {{ Who }}"}
        """,
        "6:9",
        "PingIntent: sample 'ping {Whom}' names slot 'Whom', which the intent does not declare (slots: Who)",
    ),
    (
        "sample-slot-without-slots-key",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["ping {Who}"]
            notify: {message: "ping {{ Who }}"}
        """,
        "4:15",
        "PingIntent: sample 'ping {Who}' names slot 'Who', which has no type; declare it",
    ),
    (
        "template-undeclared-slot",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["ping {Who}"]
            slots: {Who: AMAZON.FirstName}
            notify: {message: "ping {{ Whom }}"}
        """,
        "6:23",
        "PingIntent: template names 'Whom', which is neither a slot of the intent (Who) nor a known name",
    ),
    (
        "undefined-slot-type",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["ping {Who}"]
            slots:
              Who: Person
            notify: {message: "ping {{ Who }}"}
        """,
        "6:7",
        "slot PingIntent.Who: type 'Person' is not declared under slot_types",
    ),
    (
        "slot-without-type",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["ping {Who}"]
            slots:
              Who: {required: true}
            notify: {message: "ping {{ Who }}"}
        """,
        "6:7",
        "slot PingIntent.Who needs a type for the interaction model",
    ),
    (
        "unbalanced-braces",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["ping {Who"]
            slots: {Who: AMAZON.FirstName}
            notify: {message: "ping {{ Who }}"}
        """,
        "4:15",
        "PingIntent: sample 'ping {Who' has unbalanced braces",
    ),
    (
        "spaced-slot-reference",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["ping { Who }"]
            slots: {Who: AMAZON.FirstName}
            notify: {message: "ping {{ Who }}"}
        """,
        "4:15",
        "PingIntent: sample 'ping { Who }': { Who } is not a slot reference; write {Name}",
    ),
    (
        "duplicate-sample",
        """
        invocation_name: house notes
        intents:
          PingIntent:
            samples: ["be quiet"]
            notify: {message: ping}
          QuietIntent:
            samples:
              - "Be  quiet"
            notify: {message: quiet}
        """,
        "8:9",
        "QuietIntent: sample 'Be quiet' appears also in intent PingIntent (line 4); Alexa cannot tell them apart",
    ),
    (
        "missing-invocation-name-for-a-locale",
        """
        invocation_name: {en-US: house notes}
        locales: [en-US, fr-FR]
        intents:
          QuietIntent:
            samples: {default: ["be quiet"]}
            notify: {message: quiet}
        """,
        "1:18",
        "no invocation_name for fr-FR (add `fr-FR: …` or a default)",
    ),
    (
        "per-locale-invocation-name-line",
        """
        invocation_name:
          en-US: house notes
          de-DE: Haus Notizen
        intents:
          QuietIntent:
            samples: {default: ["be quiet"]}
            notify: {message: quiet}
        """,
        "3:10",
        "invocation name 'Haus Notizen' (de-DE): use lowercase letters, spaces, apostrophes and periods only, "
        "not 'H', 'N'",
    ),
]


@pytest.mark.parametrize(("case", "text", "where", "message"), MAP_RULES, ids=[c[0] for c in MAP_RULES])
def test_check_fails_on_map_rules_with_file_and_line(tmp_path, capsys, case, text, where, message):
    path = write(tmp_path, text)
    assert check(path) == 1
    err = capsys.readouterr().err
    assert f"{path}:{where}: {message}" in err, err
    assert "warning:" not in err


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes", "invocation name 'notes' must have at least two words"),
        ("Family Notes", "use lowercase letters, spaces, apostrophes and periods only, not 'F', 'N'"),
        ("family notes 2", "not '2'; spell numbers out"),
        ("family_notes now", "not '_'"),
        ("ask family notes", "contains the launch word 'ask'"),
        ("open house notes", "contains the launch word 'open'"),
        ("talk to house notes", "contains the launch word 'talk to'"),
        ("family notes skill", "contains the wake word 'skill'"),
        ("alexa house notes", "contains the wake word 'alexa'"),
        ("house notes app", "contains the wake word 'app'"),
        ("echo notes", "contains the wake word 'echo'"),
        ("the notes", "a two-word name cannot contain 'the'"),
    ],
)
def test_invocation_name_rules(tmp_path, capsys, name, message):
    path = write(tmp_path, f"invocation_name: {name}\n" + BASE.split("\n", 2)[2])
    assert check(path) == 1
    err = capsys.readouterr().err
    assert f"{path}:1:18: invocation name {name!r}" in err
    assert message in err


@pytest.mark.parametrize(
    ("name", "locale"),
    [
        ("family notes", "en-US"),
        ("sam's a. b. c. notes", "en-US"),
        ("house of notes", "en-US"),
        ("familien notizen", "de-DE"),
        ("grüße für oma", "de-DE"),
    ],
)
def test_good_invocation_names(name, locale):
    assert invocation_name_problems(name, locale) == []


def test_a_german_one_word_name_is_only_a_warning(tmp_path, capsys):
    path = write(tmp_path, "invocation_name: {de-DE: familiennotizen}\n" + BASE.split("\n", 2)[2])
    assert check(path) == 0
    assert "warning: invocation name 'familiennotizen' (de-DE) is one word" in capsys.readouterr().err


def test_home_assistant_intents_warn_that_they_cannot_be_generated(tmp_path, capsys):
    path = write(
        tmp_path,
        """
        invocation_name: house notes
        intent_script:
          LocateIntent:
            action:
              action: notify.notify
              data: {message: "Where is {{ User }}?"}
            speech:
              text: "Asked."
        """,
    )
    assert check(path) == 0
    captured = capsys.readouterr()
    assert (
        f"{path}:3:3: warning: intent LocateIntent has no samples, so it cannot be generated into an interaction "
        "model (Home Assistant forms carry no samples)" in captured.err
    )
    assert "1 warning" in captured.out


def test_no_invocation_name_warns_and_model_refuses(tmp_path, capsys):
    path = write(tmp_path, BASE.split("\n", 2)[2])
    assert check(path) == 0
    assert f"{path}:1:1: warning: no invocation_name: no interaction model can be generated" in capsys.readouterr().err
    assert main(["model", "--intent-map", str(path), "--out", str(tmp_path / "models")]) == 1
    assert "no invocation_name" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_a_map_without_model_keys_gets_no_model_warnings(tmp_path, capsys):
    path = write(tmp_path, "intents: {A: {notify: {message: hi}}}\n")
    assert check(path) == 0
    assert capsys.readouterr().err == ""


def test_model_refuses_a_map_with_model_errors(tmp_path, capsys):
    path = write(tmp_path, "invocation_name: ask notes\n" + BASE.split("\n", 2)[2])
    assert main(["model", "--intent-map", str(path), "--out", str(tmp_path / "models")]) == 1
    err = capsys.readouterr().err
    assert "contains the launch word 'ask'" in err and "nothing written" in err
    assert not (tmp_path / "models").exists()


def test_model_counts_the_problems_in_the_singular_and_the_plural(tmp_path, capsys):
    one = write(tmp_path, "invocation_name: ask notes\nintents: {A: {notify: {message: hi}, samples: [hi]}}\n")
    assert main(["model", "--intent-map", str(one), "--out", str(tmp_path / "models")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "nothing written: 1 problem to fix first"
    two = write(
        tmp_path,
        "invocation_name: {en-US: ask notes, de-DE: frag notizen}\n"
        "intents: {A: {notify: {message: hi}, samples: [hi]}}\n",
        "two.yaml",
    )
    assert main(["model", "--intent-map", str(two), "--out", str(tmp_path / "models")]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "nothing written: 2 problems to fix first"


# --------------------------------------------------------------------------- check: drift between map and files


def _add_intent(path: Path) -> tuple[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["interactionModel"]["languageModel"]["intents"].append({"name": "ExtraIntent", "samples": ["extra"]})
    path.write_text(render_model(data), encoding="utf-8")
    line = path.read_text().splitlines().index('          "name": "ExtraIntent",') + 1
    return f"{path}:{line}:11", "intent ExtraIntent is not in the intent map"


def _drop_intent(path: Path) -> tuple[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    intents = data["interactionModel"]["languageModel"]["intents"]
    data["interactionModel"]["languageModel"]["intents"] = [i for i in intents if i["name"] != "QuietIntent"]
    path.write_text(render_model(data), encoding="utf-8")
    return "{map}:8:3", f"intent QuietIntent is missing from {path}; run `python -m skill model`"


def _edit_map(path: Path) -> tuple[str, str]:
    map_path = path.parent.parent / "intents.yaml"
    map_path.write_text(map_path.read_text().replace('"be quiet"', '"hush"'), encoding="utf-8")
    line = path.read_text().splitlines().index('            "be quiet"') + 1
    return f"{path}:{line}:1", "out of date: differs from what the intent map generates; run `python -m skill model`"


def _delete(path: Path) -> tuple[str, str]:
    path.unlink()
    return str(path), "missing; run `python -m skill model` to write it"


def _stale_locale(path: Path) -> tuple[str, str]:
    stale = path.parent / "fr-FR.json"
    stale.write_text(path.read_text(), encoding="utf-8")
    return f"{stale}:1:1", "locale fr-FR is not in the intent map; delete this file or add fr-FR to `locales:`"


def _break_json(path: Path) -> tuple[str, str]:
    path.write_text('{\n  "interactionModel": {\n    "languageModel": \n', encoding="utf-8")
    return f"{path}:4:1", "not valid JSON: Expecting value"


def _not_a_model(path: Path) -> tuple[str, str]:
    path.write_text('{"intents": []}\n', encoding="utf-8")
    return f"{path}:1:1", "not an interaction model (no interactionModel.languageModel.intents)"


DRIFT = [_add_intent, _drop_intent, _edit_map, _delete, _stale_locale, _break_json, _not_a_model]


@pytest.mark.parametrize("mutate", DRIFT, ids=[f.__name__.strip("_") for f in DRIFT])
def test_check_fails_on_drift_with_file_and_line(tmp_path, capsys, mutate):
    path = write(tmp_path, BASE)
    models = tmp_path / "models"
    assert main(["model", "--intent-map", str(path), "--out", str(models)]) == 0
    assert check(path, models) == 0
    capsys.readouterr()
    where, message = mutate(models / "en-US.json")
    assert check(path, models) == 1
    err = capsys.readouterr().err
    assert f"{where.format(map=path)}: {message}" in err, err


def test_regenerating_clears_the_drift(tmp_path, capsys):
    path = write(tmp_path, BASE)
    models = tmp_path / "models"
    assert main(["model", "--intent-map", str(path), "--out", str(models)]) == 0
    _edit_map(models / "en-US.json")
    assert check(path, models) == 1
    assert main(["model", "--intent-map", str(path), "--out", str(models)]) == 0
    assert check(path, models) == 0


def test_no_models_directory_is_no_problem(tmp_path, capsys):
    path = write(tmp_path, BASE)
    assert check(path) == 0
    assert capsys.readouterr().err == ""


def test_a_hand_made_model_is_checked_for_intent_names_only(tmp_path, capsys):
    path = write(
        tmp_path,
        """
        intent_script:
          LocateIntent:
            action: {action: notify.notify, data: {message: "Where?"}}
          ShoppingIntent:
            action: {action: notify.notify, data: {message: "Buy"}}
        """,
    )
    models = tmp_path / "models"
    models.mkdir()
    hand_made = {
        "interactionModel": {
            "languageModel": {
                "invocationName": "house notes",
                "intents": [
                    {"name": "AMAZON.StopIntent", "samples": []},
                    {"name": "LocateIntent", "samples": ["where is everyone"]},
                    {"name": "WeatherIntent", "samples": ["how is the weather"]},
                ],
            }
        }
    }
    (models / "en-US.json").write_text(json.dumps(hand_made, indent=4), encoding="utf-8")
    assert check(path, models) == 1
    err = capsys.readouterr().err
    assert f"{models / 'en-US.json'}:17:21: intent WeatherIntent is not in the intent map {path}; remove it" in err
    assert f"{path}:4:3: intent ShoppingIntent is missing from {models / 'en-US.json'}; update the model" in err
    assert "out of date" not in err


# --------------------------------------------------------------------------- ASK CLI skill package


def test_ask_cli_package(tmp_path, capsys):
    out, project = tmp_path / "models", tmp_path / "skill"
    argv = ["model", "--intent-map", str(EXAMPLE), "--out", str(out), "--ask-cli", str(project)]
    assert main([*argv, "--endpoint", "https://notes.example.org/alexa"]) == 0
    package = project / "skill-package"
    manifest = json.loads((package / "skill.json").read_text(encoding="utf-8"))["manifest"]
    assert manifest["manifestVersion"] == "1.0"
    assert manifest["apis"] == {
        "custom": {"endpoint": {"uri": "https://notes.example.org/alexa", "sslCertificateType": "Trusted"}}
    }
    locales = manifest["publishingInformation"]["locales"]
    assert sorted(locales) == ["de-DE", "en-US"]
    for listing in locales.values():
        assert set(listing) >= {"name", "summary", "description", "examplePhrases"}
        assert all(listing[key] for key in ("name", "summary", "description"))
        assert 1 <= len(listing["examplePhrases"]) <= 3
        assert all(p.startswith("Alexa, ") for p in listing["examplePhrases"])
    assert locales["en-US"]["name"] == "Family Notes"
    assert locales["en-US"]["examplePhrases"][:2] == [
        "Alexa, open family notes",
        "Alexa, ask family notes to raise the alarm",
    ]
    assert locales["de-DE"]["examplePhrases"] == ["Alexa, öffne familien notizen"]
    models = package / "interactionModels" / "custom"
    assert sorted(os.listdir(models)) == ["de-DE.json", "en-US.json"]
    for name in ("de-DE.json", "en-US.json"):
        assert (models / name).read_bytes() == (COMMITTED / name).read_bytes()
    resources = json.loads((project / "ask-resources.json").read_text(encoding="utf-8"))
    assert resources == {
        "askcliResourcesVersion": "2020-03-31",
        "profiles": {"default": {"skillMetadata": {"src": "./skill-package"}}},
    }
    assert "code" not in resources["profiles"]["default"]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://abc123.ngrok-free.app/alexa", {"sslCertificateType": "Wildcard"}),
        ("https://abc123.ngrok.io/alexa", {"sslCertificateType": "Wildcard"}),
        ("https://alexa.example.org/alexa", {"sslCertificateType": "Trusted"}),
        ("arn:aws:lambda:eu-west-1:123456789012:function:alexa-pushover", {}),
    ],
)
def test_endpoint_certificate_type(endpoint, expected):
    manifest = build_skill_manifest(load_intent_map(EXAMPLE), ["en-US"], endpoint)
    assert manifest["manifest"]["apis"]["custom"]["endpoint"] == {"uri": endpoint, **expected}


def test_explicit_certificate_type():
    manifest = build_skill_manifest(
        load_intent_map(EXAMPLE), ["en-US"], "https://10.0.0.2/alexa", ssl_certificate_type="SelfSigned"
    )
    assert manifest["manifest"]["apis"]["custom"]["endpoint"]["sslCertificateType"] == "SelfSigned"


def test_an_existing_ask_resources_file_is_kept(tmp_path, capsys):
    project = tmp_path / "skill"
    project.mkdir()
    (project / "ask-resources.json").write_text('{"mine": true}\n', encoding="utf-8")
    argv = ["model", "--intent-map", str(EXAMPLE), "--out", str(tmp_path / "m"), "--ask-cli", str(project)]
    assert main([*argv, "--endpoint", "https://notes.example.org/alexa"]) == 0
    assert (project / "ask-resources.json").read_text() == '{"mine": true}\n'
    assert f"kept {project / 'ask-resources.json'}" in capsys.readouterr().out


@pytest.mark.parametrize("endpoint", ["http://notes.example.org/alexa", "notes.example.org", "ftp://x/y"])
def test_a_bad_endpoint_is_a_usage_error(tmp_path, capsys, endpoint):
    argv = ["model", "--intent-map", str(EXAMPLE), "--out", str(tmp_path / "m"), "--ask-cli", str(tmp_path / "s")]
    assert main([*argv, "--endpoint", endpoint]) == 2
    assert "--endpoint must be an https:// URL or an AWS Lambda ARN" in capsys.readouterr().err
    assert not (tmp_path / "s").exists() and not (tmp_path / "m").exists()
