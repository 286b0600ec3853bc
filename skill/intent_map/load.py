"""The entry points: a file or a text -> a validated IntentMap, or one ConfigError listing every problem."""

from __future__ import annotations

import os
from typing import Any

from ..errors import ConfigError, Problem
from .alexa_intents import load_alexa
from .checker import Checker
from .checks import check_references
from .intent_script import load_intent_script
from .keys import TOP_KEYS
from .native import load_globals, load_native
from .spec import IntentMap, Pos
from .yaml_reader import read_yaml


def parse_intent_map(text: str, path: str = "<string>") -> IntentMap:
    """Parse and validate an intent map; raise ConfigError listing every problem."""
    data, problems = read_yaml(text, path)
    checker = Checker(path)
    checker.problems.extend(problems)
    imap = _read_forms(checker, data)
    errors = [p for p in checker.problems if p.severity == "error"]
    if errors or imap is None:
        raise ConfigError(sorted(checker.problems, key=lambda p: (p.line, p.col)))
    imap.warnings = sorted(checker.problems, key=lambda p: (p.line, p.col))
    return imap


def load_intent_map(path: str | os.PathLike[str]) -> IntentMap:
    """Read and validate the intent map at ``path``."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError([Problem(name, 0, 0, "file not found (set INTENT_MAP or pass --intent-map)")]) from None
    except PermissionError:
        raise ConfigError([Problem(name, 0, 0, "permission denied: this user may not read the file")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(name, 0, 0, "is a folder, not a YAML file")]) from None
    except UnicodeDecodeError as err:
        raise ConfigError([Problem(name, 0, 0, f"not UTF-8 text (byte {err.start + 1}): save it as UTF-8")]) from None
    except OSError as err:
        raise ConfigError([Problem(name, 0, 0, f"cannot read the file: {(err.strerror or 'error').lower()}")]) from None
    return parse_intent_map(text, name)


def _read_forms(c: Checker, data: Any) -> IntentMap | None:
    """Which form the file is in, its settings, every intent of every form present, then the cross-checks."""
    if data is None:
        c.error(Pos(c.path, 1, 1), "the intent map is empty; expected `intents:` (see README)")
        return None
    top = c.expect_map(data, Pos(c.path, 1, 1), "the intent map")
    if top is None:
        return None
    if "intents" in top:
        form = "native"
    elif "alexa" in top or "intent_script" in top:
        # `alexa:` without intents beside `intent_script:` only switches Home Assistant's endpoint on.
        alexa_intents = isinstance(top.get("alexa"), dict) and "intents" in top["alexa"]
        form = "alexa" if alexa_intents or "intent_script" not in top else "intent_script"
    else:
        c.error(top.pos, "no intents found: expected `intents:`, `alexa: intents:` or `intent_script:`")
        return None
    imap = IntentMap(c.path, form, {}, {})
    if form == "native":
        c.check_keys(top, TOP_KEYS, "the intent map")
    else:
        for key in top:
            if key not in TOP_KEYS | {"alexa", "intent_script"}:
                c.warn(c.kpos(top, key), f"ignoring Home Assistant key {key!r} (only intents are used here)")
                imap.blocks_ignored.append(str(key))
    imap.blocks_used.extend(key for key in top if key in TOP_KEYS - {"intents"})
    load_globals(c, top, imap)
    if form == "native":
        load_native(c, top, imap)
    if "alexa" in top:
        load_alexa(c, top, imap)
    if "intent_script" in top:
        load_intent_script(c, top, imap)
    if not imap.intents and not imap.launch_answers and not any(p.severity == "error" for p in c.problems):
        c.error(top.pos, "the intent map defines no intents")
    check_references(c, imap)
    return imap
