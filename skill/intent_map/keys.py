"""The keys each mapping of an intent map accepts: one table per mapping.

The loader refuses every other key (``unknown key … expected one of``), and ``skill.schema``
builds the editor schema from these same tables, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Final

from . import spec

#: Top level, every form (Home Assistant's forms add ``alexa`` / ``intent_script`` and may carry others).
TOP_KEYS: Final = frozenset(
    {
        "invocation_name", "launch", "help", "notifiers", "attachment_dirs", "attachment_hosts",
        "slot_types", "intents", "locales", "people", "rooms",
    }
)  # fmt: skip
#: ``launch:`` / ``help:`` given as speech and reprompt (else they are speech themselves).
LAUNCH_KEYS: Final = frozenset({"speech", "reprompt"})
#: One named notifier under ``notifiers:``.
NOTIFIER_KEYS: Final = frozenset({"token_env", "user_env"})
#: An environment variable name, as ``token_env`` / ``user_env`` give it.
ENV_NAME_RE: Final = spec.ENV_NAME_RE
#: A custom slot type given as a mapping, and one of its values given as a mapping.
SLOT_TYPE_KEYS: Final = frozenset({"values"})
SLOT_VALUE_KEYS: Final = frozenset({"value", "id", "synonyms"})
#: A slot type whose values are the people of the map: ``{from: people}``.
SLOT_TYPE_FROM_KEYS: Final = frozenset({"from"})
#: One person under ``people:`` (``rooms:`` maps deviceIds to room names).
PERSON_KEYS: Final = frozenset({"person_ids", "user_env", "devices", "notifier", "synonyms"})

#: One intent of our own form, one of its slots, its ``cancel_alerts:`` as a mapping.
INTENT_KEYS: Final = frozenset(
    {
        "notify", "speech", "reprompt", "card", "slots", "samples", "confirm",
        "cancel_alerts", "alert_status", "end_session", "description",
    }
)  # fmt: skip
#: An entry of our ``intents:`` named by a skill (``<applicationId>``: its launch answer;
#: ``<applicationId>.SessionEndedRequest``: its session end), as ``init --from`` writes Home Assistant's.
SKILL_ENTRY_KEYS: Final = frozenset({"notify", "speech", "reprompt", "card", "end_session", "description"})
SLOT_KEYS: Final = frozenset({"type", "default", "required", "prompt"})
CANCEL_KEYS: Final = frozenset({"tag", "intent", "notifier"})
#: Speech or reprompt as a mapping, and a card (every form).
SPEECH_KEYS: Final = frozenset({"type", "text"})
CARD_KEYS: Final = frozenset({"type", "title", "content"})

#: One Pushover notification: text fields, whole numbers, switches, and the rest.
NOTIFY_FIELDS_TEXT: Final = ("message", "title", "sound", "url", "url_title", "callback", "tags", "attachment")
NOTIFY_FIELDS_INT: Final = ("priority", "retry", "expire", "ttl")
NOTIFY_FIELDS_BOOL: Final = ("html", "monospace")
NOTIFY_KEYS: Final = frozenset(
    {"notifier", "target", "validate_devices", "timestamp", "to"}
    | set(NOTIFY_FIELDS_TEXT)
    | set(NOTIFY_FIELDS_INT)
    | set(NOTIFY_FIELDS_BOOL)
)
#: Other names for a notification key.
NOTIFY_ALIASES: Final = {"device": "target", "devices": "target", "targets": "target"}
#: Keys only our own form has (Home Assistant's ``data:`` has none of them).
NOTIFY_FLAT_ONLY: Final = frozenset({"notifier", "validate_devices", "to"})

#: One intent of Home Assistant's ``intent_script:``; ``alexa: intents:`` has all but the script-only ones.
HA_INTENT_KEYS: Final = frozenset(
    {"action", "speech", "reprompt", "card", "description", "async_action", "mode", "platforms"}
)
HA_SCRIPT_ONLY_KEYS: Final = frozenset({"reprompt", "mode", "platforms"})
#: One ``action:`` item, and its ``data:`` (whose nested ``data:`` takes notification keys).
HA_ACTION_KEYS: Final = frozenset(
    {"action", "service", "data", "data_template", "target", "metadata", "enabled", "alias"}
)
HA_DATA_KEYS: Final = frozenset({"message", "title", "target", "data"})
