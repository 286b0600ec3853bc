"""``check``: validate the intent map, and the interaction models that belong to it."""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

from ..config import Settings
from ..errors import Problem
from ..intent_map import IntentMap, load_intent_map
from ..intent_map.report import count_entries, describe_sources
from ..phrases import counted
from .common import UsageError

#: Where ``model`` writes by default, and so where a map's own models are looked for: next to the map.
MODELS_DIR = "interaction_models"


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the intent map (and the interaction models against it)."""
    if args.models is not None and not os.path.isdir(args.models):
        raise UsageError(f"--models {args.models}: no such folder (`model --out DIR` writes one)")
    imap = load_intent_map(settings.intent_map_path)
    problems: list[Problem] = list(imap.warnings)
    for person in imap.people.values():  # a person without a key is "not set up": they get nothing
        if person.user_env and not settings.environ.get(person.user_env, "").strip() and person.pos:
            problems.append(
                Problem(
                    person.pos.path, person.pos.line, person.pos.col,
                    f"person {person.name} is not set up: {person.user_env} is not set, so nothing can be sent "
                    f"to {person.name} until it is", "warning", "person-not-set-up",
                )
            )  # fmt: skip
    models, note = (args.models, None) if args.models is not None else own_models(imap, settings.intent_map_path)
    from ..model import check_models

    problems.extend(check_models(imap, models))
    if args.online:
        from ..online import check_online

        # Pushover knows the account's custom sounds: the online check has the last word on them.
        problems = [p for p in problems if p.code != "custom-sound"]
        problems.extend(check_online(imap, settings))
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        print(problem, file=sys.stderr)
    if note:
        print(f"note: {note}", file=sys.stderr)
    if errors:
        return 1
    warnings = counted(len(problems) - len(errors), "warning")
    print(f"{imap.path}: OK ({imap.form} form): {count_entries(imap)}, {warnings}")
    for line in describe_sources(imap):
        print(f"  {line}")
    return 0


def own_models(imap: IntentMap, map_path: str) -> tuple[str | None, str | None]:
    """The map's own model folder (or None), and a note when a folder next to it belongs to another map.

    The folder next to the map belongs to it when a model file in it carries one of the map's
    invocation names: `model` wrote it from this map, perhaps an older version that the check then
    finds out of date. A pasted Home Assistant block (no invocation name) owns no models.
    """
    directory = os.path.join(os.path.dirname(map_path), MODELS_DIR)
    if not os.path.isdir(directory):
        return None, None
    ours = {" ".join(str(n).lower().split()) for n in imap.invocation_names.values()}
    theirs = set()
    for path in sorted(glob.glob(os.path.join(glob.escape(directory), "*.json"))):
        try:
            with open(path, encoding="utf-8") as handle:
                name = json.load(handle)["interactionModel"]["languageModel"]["invocationName"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        theirs.add(" ".join(str(name).lower().split()))
    if ours & theirs:
        return directory, None
    if not theirs:
        return None, None
    return None, (
        f"{directory} was not compared: its models are for invocation name "
        f"{', '.join(repr(n) for n in sorted(theirs))}, not this map's; pass --models DIR to compare anyway"
    )
