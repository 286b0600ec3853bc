"""The building blocks of the schema: name patterns, locale maps, closed mappings, notification fields."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any, Final

from .. import const
from ..intent_map import keys, names, spec
from .help import NOTIFY_HELP

TEXT: Final = {"type": ["string", "number"], "description": "text; may be a Jinja template such as {{ User }}"}
ANY: Final[dict[str, Any]] = {}


def regex(pattern: Any) -> str:
    """A compiled Python pattern as a JSON Schema (ECMA 262) pattern; ours use the common subset."""
    return pattern.pattern if hasattr(pattern, "pattern") else str(pattern)


LOCALE_KEY: Final = {"pattern": f"^({spec.FALLBACK_KEY}|{regex(spec.LOCALE_RE).strip('^$')})$"}
FULL_LOCALE: Final = {"type": "string", "pattern": "^[a-z]{2}-[A-Z]{2}$"}
#: A slot name; an intent name (ours, or one of Alexa's built-in library); a Home Assistant entry's name,
#: which may also be a skill's applicationId (a launch answer).
SLOT_NAME: Final = {"pattern": regex(names.NAME_RE)}
INTENT_NAME: Final = {"anyOf": [SLOT_NAME, {"pattern": regex(names.LIBRARY_INTENT_RE)}]}
#: ``<applicationId>.SessionEndedRequest``: run when that skill's session ends; a body like any entry's.
SESSION_ENDED: Final = regex(names.APPLICATION_ID_RE).removesuffix("$") + r"\.SessionEndedRequest$"
ENTRY_NAME: Final = {
    "anyOf": [*INTENT_NAME["anyOf"], {"pattern": regex(names.APPLICATION_ID_RE)}, {"pattern": SESSION_ENDED}]
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def per_locale(value: dict[str, Any], *, min_properties: int = 1) -> dict[str, Any]:
    """A mapping from locale keys (``en-US``, ``de``, ``default``) to ``value``."""
    schema: dict[str, Any] = {"type": "object", "propertyNames": LOCALE_KEY, "additionalProperties": value}
    if min_properties:
        schema["minProperties"] = min_properties
    return schema


def one_or_list(item: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "items": item}]}


def closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A mapping with exactly these keys allowed (the loader's ``unknown key`` check)."""
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def described(schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {**schema, "description": text}


def notification_fields(names: AbstractSet[str]) -> dict[str, Any]:
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
            fields[key] = ref("target")
        elif key == "notifier":
            fields[key] = {"type": "string", "description": "a name under notifiers: (or notify.<name>)"}
        else:
            fields[key] = ref("localizedText")
        fields[key] = described(fields[key], NOTIFY_HELP.get(key, key))
    for alias, canonical in keys.NOTIFY_ALIASES.items():
        if canonical in names:
            fields[alias] = described(ref("target"), f"same as target ({NOTIFY_HELP['target']})")
    return fields


def key_schemas(table: Any, schemas: dict[str, Any], help_: dict[str, str] | None = None) -> dict[str, Any]:
    """The schema of each key the loader accepts (``table``), in order; a key without one is a bug here."""
    missing = sorted(set(table) - set(schemas))
    if missing:
        raise KeyError(f"the loader accepts {', '.join(missing)}: describe it in skill/schema/definitions.py")
    help_ = help_ or {}
    return {key: described(schemas[key], help_[key]) if key in help_ else schemas[key] for key in sorted(table)}
