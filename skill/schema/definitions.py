"""The schema's ``definitions`` (speech, notifications, slots, people, …) and the keys every form accepts."""

from __future__ import annotations

from typing import Any

from .. import const
from ..intent_map import keys
from .help import INTENT_HELP, NOTIFY_HELP, TOP_HELP
from .parts import (
    ANY,
    FULL_LOCALE,
    INTENT_NAME,
    SLOT_NAME,
    TEXT,
    closed,
    described,
    key_schemas,
    notification_fields,
    one_or_list,
    per_locale,
    ref,
    regex,
)


def build_definitions() -> dict[str, Any]:
    speech_object = closed(
        key_schemas(keys.SPEECH_KEYS, {"type": {"enum": ["plain", "plaintext", "ssml"]}, "text": ref("localizedText")}),
        required=["text"],
    )
    slot_body = closed(
        key_schemas(
            keys.SLOT_KEYS,
            {
                "type": {"type": "string", "description": "AMAZON.* or a name under slot_types"},
                "default": {"type": ["string", "number", "boolean"], "description": "used when the slot is not said"},
                "required": {"type": "boolean", "description": "Alexa asks for the slot (Dialog.ElicitSlot)"},
                "prompt": described(ref("localizedText"), "how Alexa asks for the slot"),
            },
        )
    )
    slot_value = key_schemas(
        keys.SLOT_VALUE_KEYS,
        {
            "value": {"type": ["string", "integer"]},
            "id": {"type": ["string", "number", "boolean"]},
            "synonyms": one_or_list({"type": ["string", "number", "boolean"]}),
        },
    )
    value_list = {
        "type": "array",
        "minItems": 1,
        "items": {"anyOf": [{"type": ["string", "integer"]}, closed(slot_value, required=["value"])]},
    }
    values = {"anyOf": [value_list, per_locale(value_list)]}
    flat_keys = set(keys.NOTIFY_KEYS)
    nested_keys = flat_keys - keys.NOTIFY_FLAT_ONLY
    ha_data_fields = notification_fields(set(keys.HA_DATA_KEYS) - {"data"})
    ha_data_fields["data"] = described(ref("pushoverData"), "Pushover's extra parameters")
    ha_data = closed(
        key_schemas(keys.HA_DATA_KEYS, ha_data_fields),
        anyOf=[{"required": ["message"]}, {"required": ["data"], "properties": {"data": {"required": ["message"]}}}],
    )
    notify_action = {"type": "string", "pattern": r"^notify\.", "description": "notify.notify or notify.<notifier>"}
    action = closed(
        key_schemas(
            keys.HA_ACTION_KEYS,
            {
                "action": notify_action,
                "service": notify_action,
                "data": ref("homeAssistantData"),
                "data_template": ref("homeAssistantData"),
                "target": ref("target"),
                "enabled": {"type": "boolean"},
                "metadata": ANY,
                "alias": ANY,
            },
        ),
        anyOf=[{"required": ["action"]}, {"required": ["service"]}],
        **{
            "if": {"required": ["enabled"], "properties": {"enabled": {"const": False}}},
            "else": {"anyOf": [{"required": ["data"]}, {"required": ["data_template"]}]},
        },
    )
    card = closed(
        key_schemas(
            keys.CARD_KEYS,
            {"type": {"enum": ["simple"]}, "title": ref("localizedText"), "content": ref("localizedText")},
        )
    )
    cancel = closed(
        key_schemas(
            keys.CANCEL_KEYS,
            {
                "tag": ref("localizedText"),
                "intent": {"type": "string", **INTENT_NAME},
                "notifier": {"type": "string"},
            },
        ),
        oneOf=[{"required": ["tag"]}, {"required": ["intent"]}],
    )
    intent_keys = {
        "speech": ref("speech"),
        "reprompt": ref("speech"),
        "card": card,
        "description": ANY,
        "notify": one_or_list(ref("notification")),
        "slots": {"type": "object", "propertyNames": SLOT_NAME, "additionalProperties": ref("slot")},
        "samples": {"anyOf": [ref("samples"), per_locale(ref("samples"), min_properties=0)]},
        "confirm": ref("localizedText"),
        "cancel_alerts": {"anyOf": [{"type": "string"}, cancel]},
        "alert_status": {"type": "string", **INTENT_NAME},
        "end_session": {"type": "boolean"},
        "action": one_or_list(ref("action")),
        "async_action": ANY,
        "mode": ANY,
        "platforms": ANY,
    }
    alexa_keys = set(keys.HA_INTENT_KEYS) - set(keys.HA_SCRIPT_ONLY_KEYS)
    return {
        "text": TEXT,
        "localizedText": {"anyOf": [ref("text"), per_locale(ref("text"))]},
        "speech": {
            "description": "text, {type: plain|ssml, text: …}, or one per locale",
            "anyOf": [ref("text"), speech_object, per_locale(ref("speech"))],
        },
        "target": {"description": NOTIFY_HELP["target"], **one_or_list({"type": ["string", "integer"]})},
        "notification": closed(notification_fields(flat_keys), required=["message"]),
        "homeAssistantData": ha_data,
        "pushoverData": closed(notification_fields(nested_keys)),
        "action": action,
        "slot": {"anyOf": [{"type": "null"}, {"type": "string", "description": "the slot type"}, slot_body]},
        "samples": one_or_list({"type": "string", "pattern": r"\S"}),
        "nativeIntent": closed(key_schemas(keys.INTENT_KEYS, intent_keys, INTENT_HELP)),
        "nativeSkillEntry": closed(key_schemas(keys.SKILL_ENTRY_KEYS, intent_keys, INTENT_HELP)),
        "intentScriptIntent": closed(key_schemas(keys.HA_INTENT_KEYS, intent_keys, INTENT_HELP)),
        "alexaIntent": closed(key_schemas(alexa_keys, intent_keys, INTENT_HELP)),
        "slotType": {
            "anyOf": [
                closed(key_schemas(keys.SLOT_TYPE_KEYS, {"values": values}), required=["values"]),
                closed(key_schemas(keys.SLOT_TYPE_FROM_KEYS, {"from": {"enum": ["people"]}}), required=["from"]),
                values,
            ]
        },
        "person": closed(
            key_schemas(
                keys.PERSON_KEYS,
                {
                    "person_ids": one_or_list({"type": ["string", "integer"]}),
                    "user_env": {"type": "string", "pattern": regex(keys.ENV_NAME_RE)},
                    "devices": one_or_list({"type": ["string", "integer"]}),
                    "notifier": {"type": "string"},
                    "synonyms": one_or_list({"type": ["string", "integer"]}),
                },
            ),
            required=["user_env"],
        ),
        "notifier": closed(
            key_schemas(
                keys.NOTIFIER_KEYS,
                {key: {"type": "string", "pattern": regex(keys.ENV_NAME_RE)} for key in keys.NOTIFIER_KEYS},
                {
                    "token_env": "the environment variable holding the app token",
                    "user_env": "the environment variable holding the user/group key(s)",
                },
            ),
            required=sorted(keys.NOTIFIER_KEYS),
        ),
        "launch": {
            "anyOf": [
                closed(
                    key_schemas(keys.LAUNCH_KEYS, {"speech": ref("speech"), "reprompt": ref("speech")}),
                    anyOf=[{"required": [key]} for key in sorted(keys.LAUNCH_KEYS)],
                ),
                ref("speech"),
            ]
        },
    }


def global_keys() -> dict[str, Any]:
    """The top-level keys every form accepts."""
    return key_schemas(
        set(keys.TOP_KEYS) - {"intents"},
        {
            "invocation_name": {"anyOf": [{"type": "string"}, per_locale({"type": "string"}, min_properties=0)]},
            "locales": one_or_list(FULL_LOCALE),
            "launch": ref("launch"),
            "help": ref("launch"),
            "notifiers": {
                "type": "object",
                "propertyNames": {"not": {"enum": [const.DEFAULT_NOTIFIER, f"notify.{const.DEFAULT_NOTIFIER}"]}},
                "additionalProperties": ref("notifier"),
            },
            "attachment_dirs": one_or_list({"type": "string", "pattern": "^[/~]"}),
            "attachment_hosts": one_or_list({"type": "string", "pattern": r"^\s*[^\s/@?#\\]+\s*$"}),
            "people": {"type": "object", "additionalProperties": ref("person")},
            "rooms": {"type": "object", "additionalProperties": {"type": ["string", "integer"]}},
            "slot_types": {
                "type": "object",
                "propertyNames": {"not": {"pattern": r"^AMAZON\."}},
                "additionalProperties": ref("slotType"),
            },
        },
        TOP_HELP,
    )
