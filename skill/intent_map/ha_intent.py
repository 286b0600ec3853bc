"""Home Assistant's intent body, shared by ``alexa: intents:`` and ``intent_script:``: notify actions, speech, card."""

from __future__ import annotations

from typing import Any

from .checker import Checker
from .checks import add_intent
from .fields import intent_body, responses
from .keys import HA_ACTION_KEYS, HA_DATA_KEYS, HA_INTENT_KEYS, HA_SCRIPT_ONLY_KEYS
from .names import is_application_id, is_session_end_name
from .notification import notifier_name, read_notification
from .spec import EntryNote, IntentMap, IntentSpec
from .yaml_reader import YMap

#: What ``check`` says of an entry named by a skill, by what it became.
_WHY = {
    "launch answer": "answers when a person opens this skill",
    "session end": "runs when a session of this skill ends: its notifications are sent, Alexa speaks no answer",
}


def read_entries(c: Checker, imap: IntentMap, entries: YMap | None, block: str, form: str) -> None:
    """Every entry of a Home Assistant block: an intent, a launch answer or a session end."""
    for name, body in (entries or {}).items():
        kpos = c.kpos(entries, name)
        if add_intent(c, imap, ha_intent(c, name, body, entries, form)):  # type: ignore[arg-type]
            became = (
                "launch answer" if is_application_id(name) else "session end" if is_session_end_name(name) else "intent"
            )
            imap.entries.append(EntryNote(block, name, became, _WHY.get(became, ""), kpos))


def ha_intent(c: Checker, name: Any, body: Any, parent: YMap, form: str) -> IntentSpec | None:
    """One Home Assistant intent: its notify actions and its responses."""
    allowed = HA_INTENT_KEYS if form == "intent_script" else HA_INTENT_KEYS - HA_SCRIPT_ONLY_KEYS
    found = intent_body(c, name, body, parent, allowed, form)
    if found is None:
        return None
    spec, body_map = found
    # `async_action` only changes when Home Assistant answers; here the answer always waits for Pushover.
    if "action" in body_map:
        for action in c.each_map(body_map, "action", f"{name}.action"):
            ha_action(c, spec, action)
    responses(c, spec, body_map)
    return spec


def ha_action(c: Checker, spec: IntentSpec, action: YMap) -> None:
    """One ``action: notify.<name>`` with its ``data:`` as a notification."""
    where = f"{spec.name}.action"
    c.check_keys(action, HA_ACTION_KEYS, where)
    key = "action" if "action" in action else "service" if "service" in action else None
    if key is None:
        c.error(action.pos, f"{where} needs `action: notify.<name>`")
        return
    name = action[key]
    if not isinstance(name, str) or not name.startswith("notify."):
        c.error(
            c.vpos(action, key),
            f"{where}: only notify actions can be run here, not {name!r} (use notify.notify or a declared notifier)",
        )
        return
    if action.get("enabled") is False:
        return
    data_key = "data" if "data" in action else "data_template" if "data_template" in action else None
    if data_key is None:
        c.error(action.pos, f"{where} needs data: with a message")
        return
    data = c.expect_map(action[data_key], c.vpos(action, data_key), f"{where}.{data_key}")
    if data is None:
        return
    c.check_keys(data, HA_DATA_KEYS, f"{where}.{data_key}")
    flat = YMap({k: v for k, v in data.items() if k in HA_DATA_KEYS - {"data"}})
    flat.pos, flat.key_pos, flat.value_pos = data.pos, data.key_pos, data.value_pos
    extra = None
    if "data" in data:
        extra = c.expect_map(data["data"], c.vpos(data, "data"), f"{where}.data.data")
    if "target" in action and "target" not in flat:
        flat["target"] = action["target"]
        flat.value_pos = {**flat.value_pos, "target": c.vpos(action, "target")}
    notification = read_notification(c, spec.name, flat, flat=False, extra=extra)
    notification.notifier = notifier_name(c, name, c.vpos(action, key))
    spec.notifications.append(notification)
