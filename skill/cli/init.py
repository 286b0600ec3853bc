"""``init``: a starter intent map, a .env template for the keys, and the next three steps."""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib import resources

from .. import const
from ..config import Settings
from ..errors import ConfigError, Problem
from ..intent_map import IntentMap, parse_intent_map
from ..intent_map.report import count_specs

_SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=.*\n", re.M)

ENV_TEMPLATE = """\
# Pushover keys for the Alexa skill. This file is secret: keep it out of git (.gitignore lists it).
# Load it into your shell with:  set -a; . ./.env; set +a      (docker: --env-file .env)
#
# Your user key (or a group key): the top of https://pushover.net after you log in.
PUSHOVER_USER=
# An application token: https://pushover.net/apps/build ("Create an Application/API Token").
PUSHOVER_TOKEN=
"""

GITIGNORE_LINES = ".env\n"


def example_map() -> str:
    """The example intent map shipped inside the package (a copy of the repository's intents.yaml)."""
    text = (resources.files("skill") / "examples" / "intents.yaml").read_text(encoding="utf-8")
    schema = resources.files("skill") / "schema" / "intent_map.schema.json"
    if isinstance(schema, os.PathLike) and schema.is_file():
        return _SCHEMA_COMMENT.sub(f"# yaml-language-server: $schema={os.fspath(schema)}\n", text)
    return _SCHEMA_COMMENT.sub("", text)


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    """Write the starter files (never over an existing one unless --force) and print the next steps."""
    target = settings.intent_map_path
    if os.path.exists(target) and not args.force:
        raise ConfigError(
            [Problem(target, 0, 0, "exists: pass --force to overwrite it, or --intent-map NEW.yaml to write elsewhere")]
        )
    if args.source:
        from .convert import convert_home_assistant

        text = convert_home_assistant(_read_source(args.source), args.source, target)
        what = f"your Home Assistant intents from {args.source}, in our form"
    else:
        text = example_map()
        what = "the example map"
    imap = parse_intent_map(text, target)
    folder = os.path.dirname(target) or "."
    _write(target, text)
    print(f"wrote {target} ({what}: {count_specs(imap)})")
    env_path = os.path.join(folder, ".env")
    if os.path.exists(env_path):
        print(f"kept {env_path} (it exists; init never overwrites it)")
    else:
        _write(env_path, ENV_TEMPLATE + _notifier_lines(imap))
        print(f"wrote {env_path} (a template for your Pushover keys)")
    print(_ignore_env(folder))
    print()
    print(_next_steps(args.prog, target, env_path, imap))
    return 0


def _read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigError([Problem(source, 0, 0, "file not found")]) from None
    except PermissionError:
        raise ConfigError([Problem(source, 0, 0, "permission denied")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([Problem(source, 0, 0, f"cannot read the file: {err.__class__.__name__}")]) from None


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise ConfigError([Problem(path, 0, 0, f"cannot write: {(err.strerror or 'error').lower()}")]) from None


def _notifier_lines(imap: IntentMap) -> str:
    lines = [
        f"# Notifier {name!r} of the map:\n{notifier.token_env}=\n{notifier.user_env}=\n"
        for name, notifier in imap.notifiers.items()
    ]
    return "".join(lines)


def _ignore_env(folder: str) -> str:
    """Make sure git ignores .env in ``folder``: add it to .gitignore (written or appended, never replaced)."""
    path = os.path.join(folder, ".gitignore")
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    if current is not None and re.search(r"^/?\.env$", current, re.M):
        return f"kept {path} (it already ignores .env)"
    addition = GITIGNORE_LINES if current is None or current.endswith("\n") or not current else "\n" + GITIGNORE_LINES
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(addition)
    except OSError as err:
        raise ConfigError([Problem(path, 0, 0, f"cannot write: {(err.strerror or 'error').lower()}")]) from None
    return f"{'added .env to' if current is not None else 'wrote'} {path} (git ignores .env)"


def _next_steps(prog: str, target: str, env_path: str, imap: IntentMap) -> str:
    cmd = prog if target == const.DEFAULT_INTENT_MAP else f"{prog} --intent-map {target}"
    if imap.invocation_names:
        first = ""
    else:
        first = f"   first give {target} an invocation_name and samples (the comments show where); then\n"
    model = (
        f"{first}   paste interaction_models/en-US.json (written by `{cmd} model`) into the Alexa developer\n"
        "   console's JSON Editor (Build > Interaction Model), or let the ASK CLI create the skill:\n"
        f"   {cmd} model --ask-cli skill-project --endpoint https://YOUR-HOST/alexa, then ask deploy"
    )
    return (
        "Next steps:\n"
        f"1. Put your Pushover keys into {env_path}, then load them: set -a; . {env_path}; set +a\n"
        f"2. Check the map, the keys, your devices and sounds: {cmd} check --online\n"
        f"   (try it without an Echo first: {cmd} simulate {next(iter(imap.intents), 'LocateIntent')} …)\n"
        "3. Create the skill:\n"
        f"{model}"
    )
