"""What an editor shows beside each key: one line per top-level, intent and notification key."""

from __future__ import annotations

from typing import Final

from .. import const

NOTIFY_HELP: Final = {
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
TOP_HELP: Final = {
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
INTENT_HELP: Final = {
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
