"""A pasted Home Assistant block (``alexa: intents:`` or ``intent_script:``) rewritten in our own form.

The input is first loaded as it is (so its mistakes are reported with file:line:col), then its plain
YAML is rewritten key by key, and the result is loaded again: the converted map must load, with the
same intents and notifications, or nothing is written.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import ConfigError, Problem
from ..intent_map import IntentMap, parse_intent_map
from ..intent_map.keys import TOP_KEYS
from ..intent_map.names import is_application_id, is_session_end_name

#: Home Assistant keys with no meaning here (Alexa always waits for the answer; one script per intent).
_DROPPED = ("async_action", "mode", "platforms")
_DATA_KEYS = ("message", "title", "target")


class _PlainLoader(yaml.SafeLoader):
    """Safe YAML that reads Home Assistant's tags (``!secret``, ``!include``) as plain strings."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
    return f"!{suffix} {value}" if value is not None else None


_PlainLoader.add_multi_constructor("!", _tagged)


def convert_home_assistant(text: str, source: str, target: str) -> str:
    """Our form of the Home Assistant intents in ``text`` (read from ``source``), as YAML with comments."""
    imap = parse_intent_map(text, source)
    if imap.form == "native":
        raise ConfigError([Problem(source, 1, 1, "already in our own form: copy it, nothing to convert")])
    data = yaml.load(text, Loader=_PlainLoader)  # noqa: S506 - a SafeLoader subclass
    blocks = [("alexa: intents:", (data.get("alexa") or {}).get("intents") or {})]
    blocks.append(("intent_script:", data.get("intent_script") or {}))
    out = [
        f"# Converted by `init` from the Home Assistant block in {source}.",
        '# Our own form: one `notify:` per intent (see README, "The intent map").',
        "",
        '# What people say after "Alexa, ask …"; needed to generate the interaction model:',
        "# invocation_name: family notes",
        "",
    ]
    settings = {k: v for k, v in data.items() if k in TOP_KEYS and k != "intents"}
    if settings:
        out += [_dump(settings).rstrip(), ""]
    out.append("intents:")
    for origin, intents in blocks:
        for name, body in intents.items():
            out += _intent(str(name), body or {}, origin, imap)
    converted = "\n".join(out) + "\n"
    _same_meaning(imap, parse_intent_map(converted, target), target)
    return converted


def _intent(name: str, body: dict[str, Any], origin: str, imap: IntentMap) -> list[str]:
    """One entry under our ``intents:``: an intent, or a skill's launch answer or session end (same name)."""
    spec = imap.intents.get(name)
    slots = sorted(spec.slots) if spec else []
    lines = [f"  {name}:", f"    # from {origin} {name}"]
    if is_session_end_name(name):
        lines.append("    # runs when a session of that skill ends; its templates see reason and error")
    elif is_application_id(name):
        lines.append("    # the launch answer: runs when a person opens that skill")
    else:
        example = " ".join(f"{{{s}}}" for s in slots) or "hello"
        lines.append(
            f'    # samples: {{en-US: ["{name.removesuffix("Intent").lower()} {example}"]}}   # what people say'
        )
    if slots:
        lines.append(
            f"    # slots: {{{', '.join(f'{s}: AMAZON.SearchQuery' for s in slots)}}}   # pick each slot's type"
        )
    dropped = [k for k in _DROPPED if k in body]
    if dropped:
        lines.append(f"    # left out, no meaning here: {', '.join(f'{k}: {body[k]}' for k in dropped)}")
    converted: dict[str, Any] = {}
    if body.get("description"):
        converted["description"] = body["description"]
    raw = body.get("action")
    actions = raw if isinstance(raw, list) else [raw] if raw else []
    notes = [_notification(a) for a in actions if isinstance(a, dict) and a.get("enabled") is not False]
    if notes:
        converted["notify"] = notes[0] if len(notes) == 1 else notes
    for key in ("speech", "reprompt"):
        if key in body:
            converted[key] = _speech(body[key])
    if "card" in body:
        converted["card"] = body["card"]
    lines += ["    " + line for line in _dump(converted).splitlines()]
    return lines


def _notification(action: dict[str, Any]) -> dict[str, Any]:
    name = str(action.get("action") or action.get("service"))
    data = action.get("data") or action.get("data_template") or {}
    note = {k: data[k] for k in _DATA_KEYS if k in data}
    if "target" in action and "target" not in note:
        note["target"] = action["target"]
    note.update(data.get("data") or {})
    notifier = name.removeprefix("notify.")
    if notifier != "notify":
        note["notifier"] = notifier
    return note


def _speech(value: Any) -> Any:
    if isinstance(value, dict) and str(value.get("type", "plain")) == "plain" and "text" in value:
        return value["text"]
    return value


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


def _same_meaning(before: IntentMap, after: IntentMap, target: str) -> None:
    """The converted map has every intent, launch answer and session end, with as many notifications; else
    nothing is written."""
    kinds = [
        (before.intents, after.intents), (before.launch_answers, after.launch_answers),
        (before.session_ends, after.session_ends),
    ]  # fmt: skip
    for entries, converted in kinds:
        for name, spec in entries.items():
            other = converted.get(name)
            if other is None or len(other.notifications) != len(spec.notifications):
                raise ConfigError([Problem(target, 1, 1, f"could not convert intent {name}; please report this")])
