"""Alexa interaction models: generated from the intent map, and checked against it.

``python -m skill model`` writes one ``<locale>.json`` per locale in the format the developer
console's JSON editor and the ASK CLI accept; ``python -m skill check`` compares the committed
files with what generation would give, so a map edited without regenerating is caught.

Schema: https://developer.amazon.com/docs/smapi/interaction-model-schema.html
Skill package: https://developer.amazon.com/docs/smapi/skill-package-api-reference.html
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from . import const
from .errors import Problem
from .intent_map import FALLBACK_KEY, LOCALE_RE, NAME_RE, IntentMap, IntentSpec, Pos, TemplateField
from .intent_map.names import model_name_problem
from .phrases import phrase
from .render import slot_key
from .utterance import SLOT_REF_RE as _SLOT_REF
from .utterance import sample_problems

T = TypeVar("T")

#: Built-in intents every model carries, in this order (Alexa sends them whatever the map says).
BUILTIN_INTENTS: Final = (
    "AMAZON.CancelIntent",
    "AMAZON.HelpIntent",
    "AMAZON.StopIntent",
    "AMAZON.NavigateHomeIntent",
    "AMAZON.FallbackIntent",
)
#: The skill answers every dialog turn itself (Dialog.ElicitSlot / Dialog.ConfirmIntent), so Alexa
#: must not auto-delegate: https://developer.amazon.com/docs/custom-skills/delegate-dialog-to-alexa.html
DELEGATION_STRATEGY: Final = "SKILL_RESPONSE"
#: Skill manifest: https://developer.amazon.com/docs/smapi/skill-manifest.html
MANIFEST_VERSION: Final = "1.0"
SSL_CERTIFICATE_TYPES: Final = ("Wildcard", "Trusted", "SelfSigned")
#: Alexa calls a custom skill's HTTPS endpoint on this port only:
#: https://developer.amazon.com/docs/custom-skills/host-a-custom-skill-as-a-web-service.html
ALEXA_HTTPS_PORT: Final = 443
#: Tunnel hosts whose certificate is a wildcard one for the parent domain (``sslCertificateType: Wildcard``).
WILDCARD_HOST_SUFFIXES: Final = (".ngrok.io", ".ngrok.app", ".ngrok-free.app", ".ngrok.dev", ".ngrok-free.dev")
#: ASK CLI v2 project file: https://github.com/alexa/ask-cli/blob/develop/docs/concepts/Alexa-Skill-Project-Definition.md
ASK_RESOURCES_VERSION: Final = "2020-03-31"

#: Invocation name requirements:
#: https://developer.amazon.com/docs/custom-skills/choose-the-invocation-name-for-a-custom-skill.html
LAUNCH_WORDS: Final[Mapping[str, frozenset[str]]] = {
    "en": frozenset({"ask", "begin", "do", "enable", "launch", "load", "open", "play", "resume", "run", "start",
                     "tell", "use"}),
    "de": frozenset({"aktiviere", "beginne", "frag", "frage", "lade", "öffne", "sag", "sage", "spiel", "spiele",
                     "starte"}),
}  # fmt: skip
LAUNCH_PHRASES: Final[Mapping[str, tuple[str, ...]]] = {"en": ("talk to",)}
WAKE_WORDS: Final = frozenset({"alexa", "amazon", "echo", "computer", "ziggy", "skill", "app"})
#: Two-word English names may not be an article or a preposition plus one word.
_FILLER_WORDS: Final = frozenset({"the", "a", "an", "for", "to", "of", "about", "up", "by", "at", "off", "with"})

#: What the ASK CLI package tells people about the skill, per language.
_LISTING: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "summary": "Send notifications to your phones with Pushover, by voice.",
        "description": "Say what should reach whom, and the skill sends it as a Pushover notification: "
        "a message, a location request or an emergency alert that repeats until someone acknowledges it.",
        "open": "Alexa, open {name}",
        "request": "Alexa, ask {name} to {sample}",
        "keywords": "pushover, notifications, messages",
    },
    "de": {
        "summary": "Sende per Sprache Benachrichtigungen mit Pushover an deine Telefone.",
        "description": "Sag, was wen erreichen soll, und der Skill sendet es als Pushover-Benachrichtigung: "
        "eine Nachricht, eine Standortabfrage oder einen Notruf, der sich wiederholt, bis ihn jemand bestätigt.",
        "open": "Alexa, öffne {name}",
        "keywords": "pushover, benachrichtigungen, nachrichten",
    },
}
_TESTING_INSTRUCTIONS: Final = "Set PUSHOVER_TOKEN and PUSHOVER_USER on the endpoint, then say the example phrases."

_SIMPLE_VAR = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
_REGENERATE = "run `python -m skill model`"
_HAND_MADE = "update the model in the developer console (or give the map samples and generate it)"


@dataclass(frozen=True)
class Generated:
    """The models the map gives: file text per locale, and what is wrong with the map for Alexa."""

    texts: dict[str, str]
    models: dict[str, dict[str, Any]]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the models unusable."""
        return [p for p in self.problems if p.severity == "error"]


# --------------------------------------------------------------------------- locales and picking


def model_locales(imap: IntentMap) -> list[str]:
    """The locales to generate: the map's ``locales:``, else every full locale its keys name, else en-US."""
    if imap.locales:
        return list(dict.fromkeys(imap.locales))
    named = set(imap.invocation_names)
    for spec in imap.intents.values():
        named.update(spec.samples)
    found = sorted(key for key in named if LOCALE_RE.match(key) and "-" in key)
    return found or [const.DEFAULT_LOCALE]


def pick_key(values: Mapping[str, Any], locale: str) -> str | None:
    """The key that serves ``locale``: exact, then same language, then ``default``; never another language."""
    lang = locale.split("-")[0]
    for key in (locale, lang):
        if key in values:
            return key
    same_language = [key for key in values if key.split("-")[0] == lang]
    if same_language:
        return same_language[0]
    return FALLBACK_KEY if FALLBACK_KEY in values else None


def pick_strict(values: Mapping[str, T], locale: str) -> T | None:
    """The value for ``locale`` as :func:`pick_key` chooses it (a German model never gets English samples)."""
    key = pick_key(values, locale)
    return None if key is None else values[key]


def render_model(model: Mapping[str, Any]) -> str:
    """The file text: two-space indent, UTF-8 as is, newline at the end (diffs cleanly)."""
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- invocation names


def invocation_name_problems(name: str, locale: str) -> list[tuple[str, str]]:
    """What breaks Amazon's invocation name rules, as ``(severity, message)`` pairs."""
    found: list[tuple[str, str]] = []
    lang = locale.split("-")[0] if locale != FALLBACK_KEY else "en"
    where = f"invocation name {name!r}" + (f" ({locale})" if locale != FALLBACK_KEY else "")
    bad = sorted({c for c in name if not (c.isalpha() and c.islower()) and c not in " '’."})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        hint = "; spell numbers out" if any(c.isdigit() for c in bad) else ""
        found.append(
            ("error", f"{where}: use lowercase letters, spaces, apostrophes and periods only, not {shown}{hint}")
        )
    words = [w.strip(".'’") for w in name.lower().split()]
    words = [w for w in words if w]
    if len(words) < 2:
        if lang == "de":
            found.append(
                ("warning", f"{where} is one word; Amazon accepts that in German only for a real compound word")
            )
        else:
            found.append(("error", f"{where} must have at least two words"))
    elif len(words) == 2 and lang == "en" and _FILLER_WORDS & set(words):
        filler = next(w for w in words if w in _FILLER_WORDS)
        found.append(("error", f"{where}: a two-word name cannot contain {filler!r} (an article or preposition)"))
    launch = [w for w in words if w in LAUNCH_WORDS.get(lang, frozenset())]
    joined = " " + " ".join(words) + " "
    launch += [p for p in LAUNCH_PHRASES.get(lang, ()) if f" {p} " in joined]
    if launch:
        found.append(
            ("error", f"{where} contains the launch word {launch[0]!r}, which Alexa reads as part of the request")
        )
    wake = [w for w in words if w in WAKE_WORDS]
    if wake:
        found.append(("error", f"{where} contains the wake word {wake[0]!r}"))
    return found


# --------------------------------------------------------------------------- generation


class _Generator:
    """Builds one model per locale, collecting what Alexa would refuse as it goes."""

    def __init__(self, imap: IntentMap) -> None:
        self.imap = imap
        self.problems: dict[tuple[Any, ...], Problem] = {}

    def add(self, pos: Pos | None, message: str, severity: str = "error", code: str = "") -> None:
        pos = pos or Pos(self.imap.path, 1, 1)
        problem = Problem(pos.path, pos.line, pos.col, message, severity, code)
        self.problems.setdefault((problem.path, problem.line, problem.col, message), problem)

    def run(self) -> Generated:
        imap = self.imap
        locales = model_locales(imap)
        self.check_map(locales)
        models = {locale: self.model(locale) for locale in locales}
        problems = sorted(self.problems.values(), key=lambda p: (p.path, p.line, p.col))
        return Generated({loc: render_model(m) for loc, m in models.items()}, models, problems)

    # -- map-wide checks

    def check_map(self, locales: list[str]) -> None:
        imap = self.imap
        for locale in locales:
            key = pick_key(imap.invocation_names, locale)
            if key is None:
                self.add(imap.invocation_pos, f"no invocation_name for {locale} (add `{locale}: …` or a default)")
        checked = {key for key in (pick_key(imap.invocation_names, loc) for loc in locales) if key}
        for key in checked:
            name = imap.invocation_names[key].strip()
            pos = imap.invocation_positions.get(key, imap.invocation_pos)
            for severity, message in invocation_name_problems(name, key):
                self.add(pos, message, severity, "invocation-name")
        for spec in imap.intents.values():
            self.check_intent(spec, locales)

    def check_intent(self, spec: IntentSpec, locales: list[str]) -> None:
        builtin = spec.name.startswith("AMAZON.")
        if not spec.samples:
            if not builtin:
                why = " (Home Assistant forms carry no samples)" if spec.form != "native" else ""
                self.add(
                    spec.pos,
                    f"intent {spec.name} has no samples, so it cannot be generated into an interaction model{why}; "
                    "add `samples:` in the native form, or add the intent in the developer console",
                    "warning",
                    "no-samples",
                )
            return
        for locale in locales:
            if pick_strict(spec.samples, locale) is None:
                self.add(
                    spec.samples_pos or spec.pos,
                    f"intent {spec.name} has no samples for {locale}; it is left out of the {locale} model",
                    "warning",
                    "no-samples",
                )
        if builtin:
            return
        self.check_names(spec)
        for key, samples in spec.samples.items():
            positions = spec.sample_pos.get(key, [])
            for i, sample in enumerate(samples):
                pos = positions[i] if i < len(positions) else spec.samples_pos
                self.check_sample(spec, sample, pos)
        for slot in spec.slots.values():
            if slot.declared and not slot.type:
                self.add(
                    slot.pos,
                    f"slot {spec.name}.{slot.name} needs a type for the interaction model "
                    "(an AMAZON.* type or one declared under slot_types:)",
                )

    def check_names(self, spec: IntentSpec) -> None:
        """Amazon's naming rules, for a custom intent that goes into the model and for its slots and types."""
        problem = model_name_problem("intent", spec.name)
        if problem:
            self.add(spec.pos, problem, code="model-name")
        for slot in spec.slots.values():
            if not (slot.declared and slot.type):
                continue
            problem = model_name_problem(f"{spec.name}: slot", slot.name)
            if problem:
                self.add(slot.pos, problem, code="model-name")
            declared = self.imap.slot_types.get(slot.type)
            problem = model_name_problem("slot type", slot.type)
            if problem:
                self.add(declared.pos if declared else slot.pos, problem, code="model-name")

    def check_sample(self, spec: IntentSpec, sample: str, pos: Pos | None) -> None:
        if "{" in _SLOT_REF.sub("", sample) or "}" in _SLOT_REF.sub("", sample):
            self.add(pos, f"{spec.name}: sample {sample!r} has unbalanced braces; a slot is written {{Name}}")
            return
        declared = [n for n, s in spec.slots.items() if s.declared]
        for ref in _SLOT_REF.findall(sample):
            if ref != ref.strip() or not NAME_RE.match(ref):
                self.add(pos, f"{spec.name}: sample {sample!r}: {{{ref}}} is not a slot reference; write {{Name}}")
                continue
            slot = spec.slots.get(ref)
            if slot is None:
                self.add(
                    pos,
                    f"{spec.name}: sample {sample!r} names slot {ref!r}, which the intent does not declare "
                    f"(slots: {', '.join(declared) or 'none'})",
                )
            elif not slot.declared:
                self.add(
                    pos,
                    f"{spec.name}: sample {sample!r} names slot {ref!r}, which has no type; declare it, "
                    f"e.g. `slots: {{{ref}: AMAZON.SearchQuery}}`",
                )
        for message in sample_problems(sample, {name: slot.type for name, slot in spec.slots.items()}):
            self.add(pos, f"{spec.name}: {message}", code="sample")

    # -- one locale

    def intents_for(self, locale: str) -> list[tuple[IntentSpec, list[str]]]:
        """The map's intents that have samples for ``locale``, with those samples."""
        result = []
        for spec in self.imap.intents.values():
            samples = pick_strict(spec.samples, locale)
            if samples is not None:
                result.append((spec, samples))
        return result

    def model(self, locale: str) -> dict[str, Any]:
        imap = self.imap
        chosen = self.intents_for(locale)
        self.check_duplicates(locale, chosen)
        by_name = {spec.name: samples for spec, samples in chosen}
        intents: list[dict[str, Any]] = []
        for name in BUILTIN_INTENTS:
            intents.append({"name": name, "samples": list(by_name.get(name, []))})
        for spec in imap.intents.values():
            if spec.name.startswith("AMAZON.") and spec.name not in BUILTIN_INTENTS and spec.name in by_name:
                intents.append({"name": spec.name, "samples": list(by_name[spec.name])})
        custom = [(spec, samples) for spec, samples in chosen if not spec.name.startswith("AMAZON.")]
        used_types: set[str] = set()
        for spec, samples in custom:
            entry: dict[str, Any] = {"name": spec.name}
            slots = [s for s in spec.slots.values() if s.declared and s.type]
            if slots:
                entry["slots"] = [{"name": s.name, "type": s.type} for s in slots]
                used_types.update(s.type for s in slots if s.type)
            entry["samples"] = list(samples)
            intents.append(entry)
        language: dict[str, Any] = {
            "invocationName": (pick_strict(imap.invocation_names, locale) or "").strip(),
            "intents": intents,
            "types": [self.slot_type(name, locale) for name in imap.slot_types if name in used_types],
        }
        model: dict[str, Any] = {"languageModel": language}
        dialog, prompts = self.dialog(locale, [spec for spec, _ in custom])
        if dialog:
            model["dialog"] = {"delegationStrategy": DELEGATION_STRATEGY, "intents": dialog}
            model["prompts"] = prompts
        return {"interactionModel": model}

    def check_duplicates(self, locale: str, chosen: list[tuple[IntentSpec, list[str]]]) -> None:
        seen: dict[str, tuple[str, Pos | None]] = {}
        for spec, samples in chosen:
            key = pick_key(spec.samples, locale) or FALLBACK_KEY
            positions = spec.sample_pos.get(key, [])
            for i, sample in enumerate(samples):
                pos = positions[i] if i < len(positions) else spec.samples_pos
                norm = " ".join(sample.lower().split())
                if norm in seen:
                    other, first = seen[norm]
                    line = f" (line {first.line})" if first else ""
                    whose = "twice in intent " + spec.name if other == spec.name else f"also in intent {other}{line}"
                    self.add(pos, f"{spec.name}: sample {sample!r} appears {whose}; Alexa cannot tell them apart")
                else:
                    seen[norm] = (spec.name, pos)

    def slot_type(self, name: str, locale: str) -> dict[str, Any]:
        values = []
        for value in self.imap.slot_types[name].pick(locale):
            body: dict[str, Any] = {"value": value.value}
            if value.synonyms:
                body["synonyms"] = list(value.synonyms)
            # Without an id Alexa makes one up; the value itself keeps <Slot>_Id meaningful.
            values.append({"id": value.id if value.id is not None else value.value, "name": body})
        return {"name": name, "values": values}

    def dialog(self, locale: str, specs: Iterable[IntentSpec]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        intents: list[dict[str, Any]] = []
        prompts: list[dict[str, Any]] = []
        for spec in specs:
            elicited = [s for s in spec.slots.values() if s.declared and s.type and s.required and s.default is None]
            if not elicited and spec.confirm is None:
                continue
            entry: dict[str, Any] = {"name": spec.name, "confirmationRequired": spec.confirm is not None}
            if spec.confirm is not None:
                prompt_id = f"Confirm.Intent.{spec.name}"
                entry["prompts"] = {"confirmation": prompt_id}
                text = self.prompt_text(spec, spec.confirm, locale, "")
                prompts.append({"id": prompt_id, "variations": [{"type": "PlainText", "value": text}]})
            else:
                entry["prompts"] = {}
            entry["slots"] = []
            for slot in elicited:
                prompt_id = f"Elicit.Slot.{spec.name}.{slot.name}"
                entry["slots"].append(
                    {
                        "name": slot.name,
                        "type": slot.type,
                        "confirmationRequired": False,
                        "elicitationRequired": True,
                        "prompts": {"elicitation": prompt_id},
                    }
                )
                fallback = phrase(locale, "elicit", slot=_spoken_name(slot.name))
                text = self.prompt_text(spec, slot.prompt, locale, fallback)
                prompts.append({"id": prompt_id, "variations": [{"type": "PlainText", "value": text}]})
            intents.append(entry)
        return intents, prompts

    def prompt_text(self, spec: IntentSpec, field_: TemplateField | None, locale: str, fallback: str) -> str:
        """A prompt as the model holds it: literal text, ``{{ Slot }}`` turned into ``{Slot}``."""
        if field_ is None:
            return fallback
        template = field_.pick(locale)
        if template.literal:
            return template.source.strip()
        names = {slot_key(s.name): s.name for s in spec.slots.values()}

        def slot_ref(match: re.Match[str]) -> str:
            name = names.get(match.group(1))
            return "{" + name + "}" if name else match.group(0)

        text = _SIMPLE_VAR.sub(slot_ref, template.source).strip()
        if any(token in text for token in ("{{", "{%", "{#")):
            self.add(
                field_.pos,
                f"{spec.name}: this prompt uses template logic an interaction model cannot hold; the model gets "
                f"{fallback or 'the prompt without it'!r} (the skill still speaks the rendered template)",
                "warning",
                "prompt-template",
            )
            return fallback or re.sub(r"\{[{%#].*?[}%#]\}", "", template.source).strip()
        return text


def generate_models(imap: IntentMap) -> Generated:
    """Every locale's model, and the problems Alexa would have with the map."""
    return _Generator(imap).run()


def _spoken_name(name: str) -> str:
    """``DeviceName`` -> "device name", as the skill says it when it asks (service._spoken_name)."""
    words = name.removesuffix("Intent").replace(".", " ").replace("_", " ")
    spaced = "".join(" " + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(words))
    return " ".join(spaced.split())


# --------------------------------------------------------------------------- check


def check_models(imap: IntentMap, models_dir: str | os.PathLike[str] | None) -> list[Problem]:
    """Problems Alexa would have with the map, and every way the model files (if any) drifted from it."""
    directory = os.fspath(models_dir) if models_dir is not None else ""
    have_dir = bool(directory) and os.path.isdir(directory)
    wants_model = bool(imap.invocation_names) or any(s.samples for s in imap.intents.values()) or have_dir
    if not wants_model:
        return []
    if not imap.invocation_names:
        problems = [
            Problem(
                imap.path,
                1,
                1,
                "no invocation_name: no interaction model can be generated (add e.g. `invocation_name: family notes`)",
                "warning",
                "no-invocation-name",
            )
        ]
        if have_dir:
            problems += _compare_intent_names(imap, directory)
        return problems
    generated = generate_models(imap)
    problems = list(generated.problems)
    if have_dir:
        if any(spec.samples for spec in imap.intents.values()):
            problems += _compare_files(imap, directory, generated)
        else:
            problems += _compare_intent_names(imap, directory)
    return problems


def _compare_files(imap: IntentMap, directory: str, generated: Generated) -> list[Problem]:
    problems: list[Problem] = []
    for locale, text in generated.texts.items():
        path = os.path.join(directory, f"{locale}.json")
        current = _read_model_file(path)
        if isinstance(current, Problem):
            problems.append(current)
            continue
        names = _intent_names(path, current)
        if isinstance(names, Problem):
            problems.append(names)
            continue
        language = generated.models[locale]["interactionModel"]["languageModel"]
        wanted = [str(i["name"]) for i in language["intents"]]
        problems += _compare_names(imap, path, current, names, wanted, _REGENERATE)
        if current != text:
            line = _first_difference(current, text)
            problems.append(
                Problem(path, line, 1, f"out of date: differs from what the intent map generates; {_REGENERATE}")
            )
    for name in sorted(os.listdir(directory)):
        stem, ext = os.path.splitext(name)
        if ext == ".json" and LOCALE_RE.match(stem) and "-" in stem and stem not in generated.texts:
            problems.append(
                Problem(
                    os.path.join(directory, name),
                    1,
                    1,
                    f"locale {stem} is not in the intent map; delete this file or add {stem} to `locales:`",
                )
            )
    return problems


def _compare_intent_names(imap: IntentMap, directory: str) -> list[Problem]:
    """For maps that generate nothing: every model file must know exactly the map's intents."""
    problems: list[Problem] = []
    for name in sorted(os.listdir(directory)):
        stem, ext = os.path.splitext(name)
        if ext != ".json" or not LOCALE_RE.match(stem):
            continue
        path = os.path.join(directory, name)
        current = _read_model_file(path)
        if isinstance(current, Problem):
            problems.append(current)
            continue
        names = _intent_names(path, current)
        if isinstance(names, Problem):
            problems.append(names)
        else:
            problems += _compare_names(imap, path, current, names, list(imap.intents), _HAND_MADE)
    return problems


def _read_model_file(path: str) -> str | Problem:
    """A model file's text as written (line endings kept, for a byte-exact comparison), or why not."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return Problem(path, 0, 0, f"missing; {_REGENERATE} to write it")
    except (OSError, UnicodeDecodeError) as err:
        return Problem(path, 0, 0, f"cannot read the file: {err.__class__.__name__}")


def _intent_names(path: str, text: str) -> list[str] | Problem:
    """The intent names of a model file, or why it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return Problem(path, err.lineno, err.colno, f"not valid JSON: {err.msg}")
    try:
        return [str(i["name"]) for i in data["interactionModel"]["languageModel"]["intents"]]
    except (KeyError, TypeError):
        return Problem(path, 1, 1, "not an interaction model (no interactionModel.languageModel.intents)")


def _compare_names(
    imap: IntentMap, path: str, text: str, names: list[str], wanted: list[str], hint: str
) -> list[Problem]:
    """Custom intents in the file but not in the map, and the ``wanted`` ones missing from the file."""
    problems = []
    for name in names:
        if not name.startswith("AMAZON.") and name not in imap.intents:
            problems.append(
                Problem(
                    path,
                    *_position_of_name(text, name),
                    f"intent {name} is not in the intent map {imap.path}; remove it here or add it to the map, "
                    f"then {hint}",
                )
            )
    for name in wanted:
        if not name.startswith("AMAZON.") and name not in names:
            pos = imap.intents[name].pos
            problems.append(Problem(pos.path, pos.line, pos.col, f"intent {name} is missing from {path}; {hint}"))
    return problems


def _position_of_name(text: str, name: str) -> tuple[int, int]:
    """Line and column of ``"name": "<name>"`` in a JSON file (1, 1 when it is not written that way)."""
    match = re.search(r'"name"\s*:\s*' + re.escape(json.dumps(name, ensure_ascii=False)), text)
    if not match:
        return 1, 1
    line_start = text.rfind("\n", 0, match.start()) + 1
    return text.count("\n", 0, match.start()) + 1, match.start() - line_start + 1


def _first_difference(current: str, wanted: str) -> int:
    a, b = current.splitlines(), wanted.splitlines()
    for i, (x, y) in enumerate(zip(a, b, strict=False), 1):
        if x != y:
            return i
    return min(len(a), len(b)) + 1


# --------------------------------------------------------------------------- ASK CLI skill package


def certificate_type(endpoint: str) -> str | None:
    """``sslCertificateType`` for an HTTPS endpoint: Wildcard for tunnel hosts, else Trusted; None for Lambda."""
    if endpoint.startswith("arn:"):
        return None
    host = (urlsplit(endpoint).hostname or "").lower()
    return "Wildcard" if host.endswith(WILDCARD_HOST_SUFFIXES) else "Trusted"


def check_endpoint(endpoint: str) -> str | None:
    """Why ``endpoint`` cannot be a custom skill endpoint, or None."""
    if endpoint.startswith("arn:aws:lambda:"):
        return None
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        return f"--endpoint must be an https:// URL or an AWS Lambda ARN, not {endpoint!r}"
    try:
        port = parts.port
    except ValueError:
        return f"--endpoint {endpoint!r} has no valid port"
    if port not in (None, ALEXA_HTTPS_PORT):
        return (
            f"--endpoint {endpoint!r}: Alexa calls HTTPS endpoints on port {ALEXA_HTTPS_PORT} only, not {port}; "
            f"put a reverse proxy or tunnel on {ALEXA_HTTPS_PORT} in front of `serve` and give its URL without a port"
        )
    return None


#: The manifest permission behind the developer console's "Skills Personalization" switch.
PERSON_ID_PERMISSION: Final = "alexa::person_id:read"


def build_skill_manifest(
    imap: IntentMap, locales: Iterable[str], endpoint: str, *, ssl_certificate_type: str | None = None
) -> dict[str, Any]:
    """``skill-package/skill.json``: the manifest with the endpoint and a listing per locale."""
    listing: dict[str, Any] = {}
    for locale in locales:
        words = _LISTING.get(locale.split("-")[0], _LISTING["en"])
        name = (pick_strict(imap.invocation_names, locale) or "").strip()
        phrases = [words["open"].format(name=name)]
        if "request" in words:
            for spec in imap.intents.values():
                samples = pick_strict(spec.samples, locale) or []
                plain = [s for s in samples if "{" not in s]
                if plain and not spec.name.startswith("AMAZON.") and len(phrases) < 3:
                    phrases.append(words["request"].format(name=name, sample=plain[0]))
        listing[locale] = {
            "name": name.title(),
            "summary": words["summary"],
            "description": words["description"],
            "examplePhrases": phrases,
            "keywords": [word.strip() for word in words["keywords"].split(",")],
        }
    endpoint_obj: dict[str, str] = {"uri": endpoint}
    cert = certificate_type(endpoint) and (ssl_certificate_type or certificate_type(endpoint))
    if cert:
        endpoint_obj["sslCertificateType"] = cert
    manifest: dict[str, Any] = {
        "manifestVersion": MANIFEST_VERSION,
        "publishingInformation": {
            "locales": listing,
            "isAvailableWorldwide": True,
            "distributionCountries": [],
            "testingInstructions": _TESTING_INSTRUCTIONS,
        },
        "apis": {"custom": {"endpoint": endpoint_obj}},
    }
    if imap.people:  # the console's "Skills Personalization" switch: Alexa then sends who is speaking
        manifest["permissions"] = [{"name": PERSON_ID_PERMISSION}]
    return {"manifest": manifest}


def build_ask_resources() -> dict[str, Any]:
    """``ask-resources.json``: skill metadata only; the endpoint is self-hosted, so no code or infrastructure."""
    return {
        "askcliResourcesVersion": ASK_RESOURCES_VERSION,
        "profiles": {"default": {"skillMetadata": {"src": "./skill-package"}}},
    }


# --------------------------------------------------------------------------- write


def write_models(
    imap: IntentMap,
    out: str | os.PathLike[str],
    *,
    ask_cli: str | os.PathLike[str] | None = None,
    endpoint: str | None = None,
    ssl_certificate_type: str | None = None,
) -> int:
    """Write ``<out>/<locale>.json`` (and an ASK CLI project); the exit status."""
    if not imap.invocation_names:
        _say_error(
            f"{imap.path}: no invocation_name; add one (e.g. `invocation_name: family notes`) to generate a model"
        )
        return 1
    if not any(spec.samples for spec in imap.intents.values()):
        _say_error(f"{imap.path}: no intent has samples, so there is no model to generate")
        return 1
    if ask_cli is not None:
        reason = "--ask-cli needs --endpoint" if not endpoint else check_endpoint(endpoint)
        if ssl_certificate_type is not None and ssl_certificate_type not in SSL_CERTIFICATE_TYPES:
            reason = f"sslCertificateType must be one of {', '.join(SSL_CERTIFICATE_TYPES)}"
        if reason:
            _say_error(reason)
            return 2
    generated = generate_models(imap)
    for problem in generated.problems:
        print(problem, file=sys.stderr)
    if generated.errors:
        print(f"nothing written: {len(generated.errors)} problem(s) to fix first", file=sys.stderr)
        return 1
    directory = os.fspath(out)
    for locale, text in generated.texts.items():
        _write(os.path.join(directory, f"{locale}.json"), text)
    if ask_cli is not None:
        assert endpoint is not None
        root = os.fspath(ask_cli)
        package = os.path.join(root, "skill-package")
        manifest = build_skill_manifest(imap, generated.texts, endpoint, ssl_certificate_type=ssl_certificate_type)
        _write(os.path.join(package, "skill.json"), render_model(manifest))
        for locale, text in generated.texts.items():
            _write(os.path.join(package, "interactionModels", "custom", f"{locale}.json"), text)
        resources = os.path.join(root, "ask-resources.json")
        if os.path.exists(resources):
            print(f"kept {resources} (it may hold your profiles)")
        else:
            _write(resources, render_model(build_ask_resources()))
    return 0


def _write(path: str, text: str) -> None:
    """Write atomically, so a half-written model never reaches the console or a commit."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temp = f"{path}.tmp"
    with open(temp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(temp, path)
    print(f"wrote {path}")


def _say_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
