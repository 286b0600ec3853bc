"""The check: the map's problems for Alexa, and every way the committed model files drifted from it."""

from __future__ import annotations

import json
import os
import re

from ..errors import Problem
from ..intent_map import LOCALE_RE, IntentMap
from .generate import Generated, generate_models

_REGENERATE = "run `python -m skill model`"
_HAND_MADE = "update the model in the developer console (or give the map samples and generate it)"


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
        read = _read_model(path)
        if isinstance(read, Problem):
            problems.append(read)
            continue
        current, names = read
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
        read = _read_model(path)
        if isinstance(read, Problem):
            problems.append(read)
        else:
            problems += _compare_names(imap, path, *read, list(imap.intents), _HAND_MADE)
    return problems


def _read_model(path: str) -> tuple[str, list[str]] | Problem:
    """A model file's text and intent names, or why it cannot be compared."""
    current = _read_model_file(path)
    if isinstance(current, Problem):
        return current
    names = _intent_names(path, current)
    return names if isinstance(names, Problem) else (current, names)


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
