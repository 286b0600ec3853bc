"""The intent map's JSON Schema, for editors: generated from the loader's own key tables.

``intent_map.schema.json`` beside this file is what editors read (the example map names it in a
``# yaml-language-server: $schema=…`` comment). ``python -m skill.schema`` writes it from
:func:`build_schema`, which takes every key, name pattern and limit from the loader's own tables
(:mod:`skill.intent_map.keys`, :mod:`skill.const`), so the schema cannot drift from the loader: a
test compares the committed file with a fresh build, and runs every example and test map through both.

The schema is a helper, not the judge: where the loader refuses a key, the schema refuses it too
(an editor underlines the typo); where the loader only warns (the rest of a Home Assistant
``configuration.yaml``), the schema allows it. Rules that need more than one value at a time
(priority 2 needs retry and expire, templates compile, slots are declared) stay with ``check``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Set as AbstractSet
from typing import Any, Final

from .. import const
from ..intent_map import keys, names, spec

#: The committed schema file (shipped inside the package, so an installed copy has it too).
SCHEMA_PATH: Final = os.path.join(os.path.dirname(__file__), "intent_map.schema.json")
SCHEMA_DIALECT: Final = "http://json-schema.org/draft-07/schema#"

_TEXT: Final = {"type": ["string", "number"], "description": "text; may be a Jinja template such as {{ User }}"}
_ANY: Final[dict[str, Any]] = {}


def _regex(pattern: Any) -> str:
    """A compiled Python pattern as a JSON Schema (ECMA 262) pattern; ours use the common subset."""
    return pattern.pattern if hasattr(pattern, "pattern") else str(pattern)


_LOCALE_KEY: Final = {"pattern": f"^({spec.FALLBACK_KEY}|{_regex(spec.LOCALE_RE).strip('^$')})$"}
_FULL_LOCALE: Final = {"type": "string", "pattern": "^[a-z]{2}-[A-Z]{2}$"}
#: A slot name; an intent name (ours, or one of Alexa's built-in library); a Home Assistant entry's name,
#: which may also be a skill's applicationId (a launch answer).
_SLOT_NAME: Final = {"pattern": _regex(names.NAME_RE)}
_INTENT_NAME: Final = {"anyOf": [_SLOT_NAME, {"pattern": _regex(names.LIBRARY_INTENT_RE)}]}
#: ``<applicationId>.SessionEndedRequest``: skipped with a warning, whatever its body.
_SESSION_ENDED: Final = _regex(names.APPLICATION_ID_RE).removesuffix("$") + r"\.SessionEndedRequest$"
_ENTRY_NAME: Final = {
    "anyOf": [*_INTENT_NAME["anyOf"], {"pattern": _regex(names.APPLICATION_ID_RE)}, {"pattern": _SESSION_ENDED}]
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _per_locale(value: dict[str, Any], *, min_properties: int = 1) -> dict[str, Any]:
    """A mapping from locale keys (``en-US``, ``de``, ``default``) to ``value``."""
    schema: dict[str, Any] = {"type": "object", "propertyNames": _LOCALE_KEY, "additionalProperties": value}
    if min_properties:
        schema["minProperties"] = min_properties
    return schema


def _one_or_list(item: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "items": item}]}


def _closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A mapping with exactly these keys allowed (the loader's ``unknown key`` check)."""
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {**schema, "description": text}


def _notification_fields(names: AbstractSet[str]) -> dict[str, Any]:
    """The schema of each notification key in ``names`` (and of its aliases)."""
    number = {"type": "string", "pattern": r"^\s*-?\d+\s*$|\{"}
    fields: dict[str, Any] = {}
    for key in sorted(names):
        if key in keys.NOTIFY_FIELDS_BOOL or key == "validate_devices":
            fields[key] = {"type": "boolean"}
        elif key == "priority":
            fields[key] = {
                "anyOf": [{"type": "integer", "minimum": const.MIN_PRIORITY, "maximum": const.MAX_PRIORITY}, number]
            }
        elif key == "retry":
            fields[key] = {"anyOf": [{"type": "integer", "minimum": const.MIN_RETRY_S}, number]}
        elif key == "expire":
            fields[key] = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": const.MAX_EXPIRE_S}, number]}
        elif key == "ttl":
            fields[key] = {"anyOf": [{"type": "integer", "minimum": 1}, number]}
        elif key == "timestamp":
            fields[key] = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\s*(-?\d+|now)\s*$|\{"}]}
        elif key == "target":
            fields[key] = _ref("target")
        elif key == "notifier":
            fields[key] = {"type": "string", "description": "a name under notifiers: (or notify.<name>)"}
        else:
            fields[key] = _ref("localizedText")
        fields[key] = _described(fields[key], _NOTIFY_HELP.get(key, key))
    for alias, canonical in keys.NOTIFY_ALIASES.items():
        if canonical in names:
            fields[alias] = _described(_ref("target"), f"same as target ({_NOTIFY_HELP['target']})")
    return fields


_NOTIFY_HELP: Final = {
    "message": "the notification text (required)",
    "title": "the notification title",
    "target": "device name(s): a name, a list, or 'a,b'; may be a template",
    "sound": "a Pushover sound name",
    "url": "a supplementary URL",
    "url_title": "the URL's title",
    "priority": "-2..2; 2 (emergency) needs retry and expire",
    "retry": f"emergency: seconds between repeats (>= {const.MIN_RETRY_S})",
    "expire": f"emergency: seconds until repeats stop (<= {const.MAX_EXPIRE_S})",
    "ttl": "seconds until the message is deleted (not with priority 2)",
    "timestamp": "a Unix time, now, or a template producing one",
    "html": "render HTML (not with monospace)",
    "monospace": "monospace text (not with html)",
    "callback": "emergency: URL Pushover calls when acknowledged",
    "tags": "emergency: tags for cancelling (default alexa-<intentname>)",
    "attachment": "an image: a local path inside attachment_dirs, or an http(s) URL from attachment_hosts",
    "notifier": "a name under notifiers: (default: PUSHOVER_TOKEN/PUSHOVER_USER)",
    "to": "me (whoever speaks) or a person under people:",
    "validate_devices": "check targets against the account's devices before sending",
}
_TOP_HELP: Final = {
    "invocation_name": "what people say to open the skill; one name or one per locale",
    "locales": "the locales to generate interaction models for",
    "launch": "what Alexa says when the skill is opened",
    "help": "what Alexa says for AMAZON.HelpIntent",
    "notifiers": "named notifiers: which environment variables hold their keys",
    "attachment_dirs": "folders local attachments may be read from",
    "attachment_hosts": "hosts (host or host:port) attachment URLs may come from",
    "slot_types": "custom slot types: values with ids and synonyms",
    "people": "who may speak: personIds, their Pushover user key's variable, devices, synonyms",
    "rooms": "deviceId -> the room the Echo stands in",
    "intents": "the intents, by name (our own form)",
    "alexa": "Home Assistant's legacy alexa: intents: block",
    "intent_script": "Home Assistant's intent_script: block",
}
_INTENT_HELP: Final = {
    "notify": "one notification, or a list of them",
    "speech": "what Alexa says after sending",
    "reprompt": "what Alexa says if nobody answers; keeps the session open",
    "card": "a simple card in the Alexa app",
    "slots": "the intent's slots: a type, or type/default/required/prompt",
    "samples": "sample utterances, one list or one per locale",
    "confirm": "Alexa asks this first; 'no' sends nothing",
    "cancel_alerts": "cancel an intent's emergency alerts (an intent name, or tag:/intent:)",
    "alert_status": "answer whether that intent's newest emergency alert was acknowledged (an intent name)",
    "end_session": "true ends the session, false keeps listening",
    "description": "free text for you; not used",
    "action": "notify.<name> action(s)",
    "async_action": "accepted and ignored: the answer always waits for Pushover",
    "mode": "accepted and ignored",
    "platforms": "accepted and ignored",
}


def _keys(table: Any, schemas: dict[str, Any], help_: dict[str, str] | None = None) -> dict[str, Any]:
    """The schema of each key the loader accepts (``table``), in order; a key without one is a bug here."""
    missing = sorted(set(table) - set(schemas))
    if missing:
        raise KeyError(f"the loader accepts {', '.join(missing)}: describe it in skill/schema/__init__.py")
    help_ = help_ or {}
    return {key: _described(schemas[key], help_[key]) if key in help_ else schemas[key] for key in sorted(table)}


def _definitions() -> dict[str, Any]:
    speech_object = _closed(
        _keys(keys.SPEECH_KEYS, {"type": {"enum": ["plain", "plaintext", "ssml"]}, "text": _ref("localizedText")}),
        required=["text"],
    )
    slot_body = _closed(
        _keys(
            keys.SLOT_KEYS,
            {
                "type": {"type": "string", "description": "AMAZON.* or a name under slot_types"},
                "default": {"type": ["string", "number", "boolean"], "description": "used when the slot is not said"},
                "required": {"type": "boolean", "description": "Alexa asks for the slot (Dialog.ElicitSlot)"},
                "prompt": _described(_ref("localizedText"), "how Alexa asks for the slot"),
            },
        )
    )
    slot_value = _keys(
        keys.SLOT_VALUE_KEYS,
        {
            "value": {"type": ["string", "integer"]},
            "id": {"type": ["string", "number", "boolean"]},
            "synonyms": _one_or_list({"type": ["string", "number", "boolean"]}),
        },
    )
    value_list = {
        "type": "array",
        "minItems": 1,
        "items": {"anyOf": [{"type": ["string", "integer"]}, _closed(slot_value, required=["value"])]},
    }
    values = {"anyOf": [value_list, _per_locale(value_list)]}
    flat_keys = set(keys.NOTIFY_KEYS)
    nested_keys = flat_keys - keys.NOTIFY_FLAT_ONLY
    ha_data_fields = _notification_fields(set(keys.HA_DATA_KEYS) - {"data"})
    ha_data_fields["data"] = _described(_ref("pushoverData"), "Pushover's extra parameters")
    ha_data = _closed(
        _keys(keys.HA_DATA_KEYS, ha_data_fields),
        anyOf=[{"required": ["message"]}, {"required": ["data"], "properties": {"data": {"required": ["message"]}}}],
    )
    notify_action = {"type": "string", "pattern": r"^notify\.", "description": "notify.notify or notify.<notifier>"}
    action = _closed(
        _keys(
            keys.HA_ACTION_KEYS,
            {
                "action": notify_action,
                "service": notify_action,
                "data": _ref("homeAssistantData"),
                "data_template": _ref("homeAssistantData"),
                "target": _ref("target"),
                "enabled": {"type": "boolean"},
                "metadata": _ANY,
                "alias": _ANY,
            },
        ),
        anyOf=[{"required": ["action"]}, {"required": ["service"]}],
        **{
            "if": {"required": ["enabled"], "properties": {"enabled": {"const": False}}},
            "else": {"anyOf": [{"required": ["data"]}, {"required": ["data_template"]}]},
        },
    )
    card = _closed(
        _keys(
            keys.CARD_KEYS,
            {"type": {"enum": ["simple"]}, "title": _ref("localizedText"), "content": _ref("localizedText")},
        )
    )
    cancel = _closed(
        _keys(
            keys.CANCEL_KEYS,
            {
                "tag": _ref("localizedText"),
                "intent": {"type": "string", **_INTENT_NAME},
                "notifier": {"type": "string"},
            },
        ),
        oneOf=[{"required": ["tag"]}, {"required": ["intent"]}],
    )
    intent_keys = {
        "speech": _ref("speech"),
        "reprompt": _ref("speech"),
        "card": card,
        "description": _ANY,
        "notify": _one_or_list(_ref("notification")),
        "slots": {"type": "object", "propertyNames": _SLOT_NAME, "additionalProperties": _ref("slot")},
        "samples": {"anyOf": [_ref("samples"), _per_locale(_ref("samples"), min_properties=0)]},
        "confirm": _ref("localizedText"),
        "cancel_alerts": {"anyOf": [{"type": "string"}, cancel]},
        "alert_status": {"type": "string", **_INTENT_NAME},
        "end_session": {"type": "boolean"},
        "action": _one_or_list(_ref("action")),
        "async_action": _ANY,
        "mode": _ANY,
        "platforms": _ANY,
    }
    alexa_keys = set(keys.HA_INTENT_KEYS) - set(keys.HA_SCRIPT_ONLY_KEYS)
    return {
        "text": _TEXT,
        "localizedText": {"anyOf": [_ref("text"), _per_locale(_ref("text"))]},
        "speech": {
            "description": "text, {type: plain|ssml, text: …}, or one per locale",
            "anyOf": [_ref("text"), speech_object, _per_locale(_ref("speech"))],
        },
        "target": {"description": _NOTIFY_HELP["target"], **_one_or_list({"type": ["string", "integer"]})},
        "notification": _closed(_notification_fields(flat_keys), required=["message"]),
        "homeAssistantData": ha_data,
        "pushoverData": _closed(_notification_fields(nested_keys)),
        "action": action,
        "slot": {"anyOf": [{"type": "null"}, {"type": "string", "description": "the slot type"}, slot_body]},
        "samples": _one_or_list({"type": "string", "pattern": r"\S"}),
        "nativeIntent": _closed(_keys(keys.INTENT_KEYS, intent_keys, _INTENT_HELP)),
        "intentScriptIntent": _closed(_keys(keys.HA_INTENT_KEYS, intent_keys, _INTENT_HELP)),
        "alexaIntent": _closed(_keys(alexa_keys, intent_keys, _INTENT_HELP)),
        "slotType": {
            "anyOf": [
                _closed(_keys(keys.SLOT_TYPE_KEYS, {"values": values}), required=["values"]),
                _closed(_keys(keys.SLOT_TYPE_FROM_KEYS, {"from": {"enum": ["people"]}}), required=["from"]),
                values,
            ]
        },
        "person": _closed(
            _keys(
                keys.PERSON_KEYS,
                {
                    "person_ids": _one_or_list({"type": ["string", "integer"]}),
                    "user_env": {"type": "string", "pattern": _regex(keys.ENV_NAME_RE)},
                    "devices": _one_or_list({"type": ["string", "integer"]}),
                    "notifier": {"type": "string"},
                    "synonyms": _one_or_list({"type": ["string", "integer"]}),
                },
            ),
            required=["user_env"],
        ),
        "notifier": _closed(
            _keys(
                keys.NOTIFIER_KEYS,
                {key: {"type": "string", "pattern": _regex(keys.ENV_NAME_RE)} for key in keys.NOTIFIER_KEYS},
                {
                    "token_env": "the environment variable holding the app token",
                    "user_env": "the environment variable holding the user/group key(s)",
                },
            ),
            required=sorted(keys.NOTIFIER_KEYS),
        ),
        "launch": {
            "anyOf": [
                _closed(
                    _keys(keys.LAUNCH_KEYS, {"speech": _ref("speech"), "reprompt": _ref("speech")}),
                    anyOf=[{"required": [key]} for key in sorted(keys.LAUNCH_KEYS)],
                ),
                _ref("speech"),
            ]
        },
    }


def _globals() -> dict[str, Any]:
    """The top-level keys every form accepts."""
    return _keys(
        set(keys.TOP_KEYS) - {"intents"},
        {
            "invocation_name": {"anyOf": [{"type": "string"}, _per_locale({"type": "string"}, min_properties=0)]},
            "locales": _one_or_list(_FULL_LOCALE),
            "launch": _ref("launch"),
            "help": _ref("launch"),
            "notifiers": {
                "type": "object",
                "propertyNames": {"not": {"enum": [const.DEFAULT_NOTIFIER, f"notify.{const.DEFAULT_NOTIFIER}"]}},
                "additionalProperties": _ref("notifier"),
            },
            "attachment_dirs": _one_or_list({"type": "string", "pattern": "^[/~]"}),
            "attachment_hosts": _one_or_list({"type": "string", "pattern": r"^\s*[^\s/@?#\\]+\s*$"}),
            "people": {"type": "object", "additionalProperties": _ref("person")},
            "rooms": {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
            "slot_types": {
                "type": "object",
                "propertyNames": {"not": {"pattern": r"^AMAZON\."}},
                "additionalProperties": _ref("slotType"),
            },
        },
        _TOP_HELP,
    )


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7) of an intent map, in all three accepted forms."""
    native = {
        **_globals(),
        "intents": _described(
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": _INTENT_NAME,
                "additionalProperties": _ref("nativeIntent"),
            },
            _TOP_HELP["intents"],
        ),
    }
    if set(native) != set(keys.TOP_KEYS):
        raise KeyError(f"top-level keys differ from the loader's: {sorted(set(native) ^ set(keys.TOP_KEYS))}")
    alexa = {
        "type": ["object", "null"],
        "properties": {
            "intents": {
                "type": ["object", "null"],
                "propertyNames": _ENTRY_NAME,
                "patternProperties": {_SESSION_ENDED: _ANY},
                "additionalProperties": _ref("alexaIntent"),
            }
        },
    }
    intent_script = {
        "type": "object",
        "propertyNames": _ENTRY_NAME,
        "patternProperties": {_SESSION_ENDED: _ANY},
        "additionalProperties": _ref("intentScriptIntent"),
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Alexa → Pushover intent map",
        "description": "The intent map of the Alexa → Pushover skill: our own form (intents:), Home Assistant's "
        "alexa: intents: or its intent_script:. Generated by `python -m skill.schema`; see README.",
        "type": "object",
        "properties": {
            **native,
            "alexa": _described(alexa, _TOP_HELP["alexa"]),
            "intent_script": _described(intent_script, _TOP_HELP["intent_script"]),
        },
        "if": {"required": ["intents"]},
        # Our own form: every top-level key is ours, so a typo is an error.
        "then": {"properties": native, "additionalProperties": False},
        # A Home Assistant configuration.yaml: its other keys are ignored (the loader warns).
        # Without intent_script:, alexa: must hold the intents (beside it, alexa: only switches the endpoint on).
        "else": {
            "anyOf": [
                {"required": ["intent_script"]},
                {"required": ["alexa"], "properties": {"alexa": {"type": "object", "required": ["intents"]}}},
            ]
        },
        "definitions": _definitions(),
    }


def render_schema(schema: dict[str, Any] | None = None) -> str:
    """The file text: two-space indent, UTF-8 as is, newline at the end."""
    return json.dumps(build_schema() if schema is None else schema, indent=2, ensure_ascii=False) + "\n"


def load_schema() -> dict[str, Any]:
    """The committed schema file."""
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return json.load(handle)
