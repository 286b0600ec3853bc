"""Interaction-model generation: one model per locale from the intent map, and what Alexa would refuse.

Schema: https://developer.amazon.com/docs/smapi/interaction-model-schema.html
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from ..errors import Problem
from ..intent_map import FALLBACK_KEY, NAME_RE, IntentMap, IntentSpec, Pos, TemplateField
from ..intent_map.names import model_name_problem
from ..phrases import phrase
from ..render import slot_key
from ..utterance import SLOT_REF_RE as _SLOT_REF
from ..utterance import sample_problems
from .invocation import invocation_name_problems
from .locales import model_locales, pick_key, pick_strict, render_model

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

_SIMPLE_VAR = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")


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
