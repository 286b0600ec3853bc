"""Our own form: top-level ``intents:`` with flat notification keys under ``notify:``, and the settings beside it.

The settings (``invocation_name``, ``launch``, ``help``, ``notifiers``, ``slot_types``, …) are read for
every form, so a Home Assistant file may carry them too.
"""

from __future__ import annotations

import os
from typing import Any

from .. import const
from ..attachments import parse_host_entry
from ..errors import ConfigError
from ..render import default_alert_tag
from .checker import Checker, is_locale_key, kind
from .checks import add_intent
from .fields import intent_body, localized_template, read_speech, responses
from .household import people_slot_type, read_people, read_rooms
from .keys import (
    CANCEL_KEYS,
    INTENT_KEYS,
    LAUNCH_KEYS,
    NOTIFIER_KEYS,
    SKILL_ENTRY_KEYS,
    SLOT_KEYS,
    SLOT_TYPE_KEYS,
    SLOT_VALUE_KEYS,
)
from .names import NAME_RULE, is_application_id, is_intent_name, is_session_end_name, is_slot_name
from .notification import notifier_name, read_notification
from .spec import (
    ENV_NAME_RE,
    FALLBACK_KEY,
    LOCALE_RE,
    CancelSpec,
    IntentMap,
    IntentSpec,
    NotifierSpec,
    Pos,
    SlotSpec,
    SlotTypeSpec,
    SlotTypeValue,
)
from .yaml_reader import YMap


def load_native(c: Checker, top: YMap, imap: IntentMap) -> None:
    """Read the intents under our top-level ``intents:`` into ``imap``."""
    intents = c.expect_map(top["intents"], c.vpos(top, "intents"), "intents")
    for name, body in (intents or {}).items():
        add_intent(c, imap, native_intent(c, name, body, intents))


def load_globals(c: Checker, top: YMap, imap: IntentMap) -> None:
    """The settings beside the intents: invocation name, locales, launch, help, notifiers, …."""
    if "invocation_name" in top:
        value, pos = top["invocation_name"], c.vpos(top, "invocation_name")
        imap.invocation_pos = pos
        if isinstance(value, dict):
            for key, name in value.items():
                if not is_locale_key(key) or not isinstance(name, str):
                    c.error(c.kpos(value, key), "invocation_name per locale: `en-US: family notes`")
                else:
                    imap.invocation_names[key] = name
                    imap.invocation_positions[key] = c.vpos(value, key) or pos
        elif isinstance(value, str):
            imap.invocation_names[FALLBACK_KEY] = value
            imap.invocation_positions[FALLBACK_KEY] = pos
        else:
            c.error(pos, f"invocation_name must be text, not {kind(value)}")
    if "locales" in top:
        items = c.expect_list(top["locales"], c.vpos(top, "locales"), "locales", allow_scalar=True)
        for i, loc in enumerate(items or []):
            if not isinstance(loc, str) or not LOCALE_RE.match(loc) or "-" not in loc:
                c.error(items.item_pos[i], f"locales: {loc!r} is not a locale such as en-US")  # type: ignore[union-attr]
            else:
                imap.locales.append(loc)
    for key in ("launch", "help"):
        if key not in top:
            continue
        value, pos = top[key], c.vpos(top, key)
        if isinstance(value, dict) and ("speech" in value or "reprompt" in value):
            c.check_keys(value, LAUNCH_KEYS, key)
            speech = (
                read_speech(c, value["speech"], c.vpos(value, "speech"), f"{key}.speech") if "speech" in value else None
            )
            reprompt = (
                read_speech(c, value["reprompt"], c.vpos(value, "reprompt"), f"{key}.reprompt")
                if "reprompt" in value
                else None
            )
        else:
            speech, reprompt = read_speech(c, value, pos, key), None
        if key == "launch":
            imap.launch, imap.launch_reprompt = speech, reprompt
        else:
            imap.help = speech
    if "notifiers" in top:
        notifiers = c.expect_map(top["notifiers"], c.vpos(top, "notifiers"), "notifiers")
        for name, body in (notifiers or {}).items():
            kpos = c.kpos(notifiers, name)
            body_map = c.expect_map(body, c.vpos(notifiers, name), f"notifier {name}")
            if body_map is None:
                continue
            c.check_keys(body_map, NOTIFIER_KEYS, f"notifier {name}")
            envs = {}
            for key in ("token_env", "user_env"):
                var = body_map.get(key)
                if not isinstance(var, str) or not ENV_NAME_RE.match(var):
                    c.error(
                        c.vpos(body_map, key) if key in body_map else body_map.pos,
                        f"notifier {name}: {key} must name an environment variable, e.g. {name.upper()}_PUSHOVER_"
                        + ("TOKEN" if key == "token_env" else "USER"),
                    )
                envs[key] = var
            if name in {const.DEFAULT_NOTIFIER, "notify.notify"}:
                c.error(kpos, "notifier name 'notify' is the default notifier (PUSHOVER_TOKEN/PUSHOVER_USER)")
                continue
            imap.notifiers[str(name)] = NotifierSpec(str(name), str(envs["token_env"]), str(envs["user_env"]), kpos)
    for key, target in (("attachment_dirs", imap.attachment_dirs), ("attachment_hosts", imap.attachment_hosts)):
        if key not in top:
            continue
        items = c.expect_list(top[key], c.vpos(top, key), key, allow_scalar=True)
        for i, item in enumerate(items or []):
            if not isinstance(item, str) or not item.strip():
                c.error(items.item_pos[i], f"{key}: each entry must be text")  # type: ignore[union-attr]
            elif key == "attachment_dirs" and not os.path.isabs(os.path.expanduser(item)):
                c.error(items.item_pos[i], f"attachment_dirs: {item!r} must be an absolute path")  # type: ignore[union-attr]
            elif key == "attachment_hosts" and not _is_host_entry(item):
                c.error(items.item_pos[i], f"attachment_hosts: {item!r} is not a host name or host:port")  # type: ignore[union-attr]
            else:
                target.append(os.path.expanduser(item) if key == "attachment_dirs" else item.strip().lower())
    if "people" in top:  # after notifiers: (a person may name one), before slot_types: (one may list them)
        read_people(c, top, imap)
    if "rooms" in top:
        read_rooms(c, top, imap)
    if "slot_types" in top:
        types = c.expect_map(top["slot_types"], c.vpos(top, "slot_types"), "slot_types")
        for name, body in (types or {}).items():
            if isinstance(body, dict) and "from" in body:
                spec = people_slot_type(c, str(name), body, c.kpos(types, name), imap)
            else:
                spec = slot_type(c, str(name), body, c.kpos(types, name), c.vpos(types, name))
            if spec:
                imap.slot_types[spec.name] = spec


def slot_type(c: Checker, name: str, body: Any, kpos: Pos | None, vpos: Pos | None) -> SlotTypeSpec | None:
    """A custom slot type: its values (text or ``{value, id, synonyms}``), per locale."""
    if name.startswith("AMAZON."):
        c.error(kpos, f"slot type {name}: AMAZON.* types are built in and cannot be declared")
        return None
    if isinstance(body, dict):
        c.check_keys(body, SLOT_TYPE_KEYS, f"slot type {name}")
        raw, vpos = body.get("values"), c.vpos(body, "values")
    else:
        raw = body
    per_locale: dict[str, Any]
    if isinstance(raw, dict) and raw and all(is_locale_key(k) for k in raw):
        per_locale = {k: (v, c.vpos(raw, k)) for k, v in raw.items()}
    else:
        per_locale = {FALLBACK_KEY: (raw, vpos)}
    values: dict[str, list[SlotTypeValue]] = {}
    for locale, (items, pos) in per_locale.items():
        seq = c.expect_list(items, pos, f"slot type {name} values")
        out: list[SlotTypeValue] = []
        for i, item in enumerate(seq or []):
            ipos = seq.item_pos[i]  # type: ignore[union-attr]
            if isinstance(item, str | int) and not isinstance(item, bool):
                out.append(SlotTypeValue(str(item)))
            elif isinstance(item, dict):
                c.check_keys(item, SLOT_VALUE_KEYS, f"slot type {name} value")
                value = item.get("value")
                if not isinstance(value, str | int) or isinstance(value, bool):
                    c.error(ipos, f"slot type {name}: each value needs `value:` text")
                    continue
                syn = item.get("synonyms", [])
                syn_list = c.expect_list(syn, c.vpos(item, "synonyms"), "synonyms", allow_scalar=True) or []
                ident = item.get("id")
                out.append(SlotTypeValue(str(value), None if ident is None else str(ident), [str(s) for s in syn_list]))
            else:
                c.error(ipos, f"slot type {name}: a value is text or {{value, id, synonyms}}")
        if seq is not None and not out:
            c.error(pos, f"slot type {name} has no values")
        values[locale] = out
    return SlotTypeSpec(name, values, kpos or Pos(c.path, 1, 1)) if values else None


def native_intent(c: Checker, name: Any, body: Any, parent: YMap) -> IntentSpec | None:
    """One intent of our own form, or a skill's launch answer or session end (named by its applicationId)."""
    by_skill = is_application_id(name) or is_session_end_name(name)
    found = intent_body(c, name, body, parent, SKILL_ENTRY_KEYS if by_skill else INTENT_KEYS, "native")
    if found is None:
        return None
    spec, body_map = found
    if "slots" in body_map:
        spec.slots_declared = True
        slots = c.expect_map(body_map["slots"], c.vpos(body_map, "slots"), f"{name}.slots")
        for slot_name, slot_body in (slots or {}).items():
            slot = read_slot(c, name, slot_name, slot_body, slots)
            if slot:
                spec.slots[slot.name] = slot
    if "samples" in body_map:
        spec.samples_pos = c.vpos(body_map, "samples")
        raw = body_map["samples"]
        if isinstance(raw, dict) and all(is_locale_key(k) for k in raw):
            items = {k: (v, c.vpos(raw, k)) for k, v in raw.items()}
        else:
            items = {FALLBACK_KEY: (raw, spec.samples_pos)}
        for locale, (values, pos) in items.items():
            seq = c.expect_list(values, pos, f"{name}.samples", allow_scalar=True)
            if seq is None:
                continue
            spec.samples[locale] = []
            for i, sample in enumerate(seq):
                if not isinstance(sample, str) or not sample.strip():
                    c.error(seq.item_pos[i], f"{name}.samples: each sample must be text")
                else:
                    spec.samples[locale].append(" ".join(sample.split()))
                    spec.sample_pos.setdefault(locale, []).append(seq.item_pos[i])
    if "notify" in body_map:
        for item_map in c.each_map(body_map, "notify", f"{name}.notify"):
            spec.notifications.append(read_notification(c, name, item_map, flat=True))
    if "cancel_alerts" in body_map:
        spec.cancel = cancel(c, name, body_map["cancel_alerts"], c.vpos(body_map, "cancel_alerts"))
    if "alert_status" in body_map:
        value, pos = body_map["alert_status"], c.vpos(body_map, "alert_status")
        if not is_intent_name(value):
            c.error(pos, f"{name}.alert_status must name the intent whose alerts it reports, e.g. EmergencyIntent")
        else:
            spec.alert_status, spec.alert_status_pos = value, pos
    if "confirm" in body_map:
        spec.confirm = localized_template(c, body_map["confirm"], c.vpos(body_map, "confirm"), f"{name}.confirm")
    if "end_session" in body_map:
        if not isinstance(body_map["end_session"], bool):
            c.error(c.vpos(body_map, "end_session"), f"{name}.end_session must be true or false")
        else:
            spec.end_session = body_map["end_session"]
    responses(c, spec, body_map)
    return spec


def read_slot(c: Checker, intent: str, name: Any, body: Any, parent: YMap) -> SlotSpec | None:
    """One slot of an intent: a type name, or ``{type, default, required, prompt}``."""
    kpos = c.kpos(parent, name)
    if not is_slot_name(name):
        c.error(kpos, f"{intent}: slot name {name!r} {NAME_RULE}")
        return None
    slot = SlotSpec(name, pos=kpos)
    if body is None:
        return slot
    if isinstance(body, str):
        slot.type = body
        return slot
    body_map = c.expect_map(body, c.vpos(parent, name), f"{intent}.slots.{name}")
    if body_map is None:
        return None
    c.check_keys(body_map, SLOT_KEYS, f"slot {intent}.{name}")
    if "type" in body_map:
        if not isinstance(body_map["type"], str):
            c.error(c.vpos(body_map, "type"), f"slot {intent}.{name}: type must be text")
        else:
            slot.type = body_map["type"]
    if "default" in body_map:
        default = body_map["default"]
        if isinstance(default, dict | list) or default is None:
            c.error(c.vpos(body_map, "default"), f"slot {intent}.{name}: default must be text")
        else:
            slot.default = str(default)
    if "required" in body_map:
        if not isinstance(body_map["required"], bool):
            c.error(c.vpos(body_map, "required"), f"slot {intent}.{name}: required must be true or false")
        else:
            slot.required = body_map["required"]
    if "prompt" in body_map:
        slot.prompt = localized_template(c, body_map["prompt"], c.vpos(body_map, "prompt"), f"{intent}.{name}.prompt")
    return slot


def cancel(c: Checker, intent: str, value: Any, pos: Pos | None) -> CancelSpec | None:
    """``cancel_alerts``: an intent name or ``{tag | intent, notifier}``."""
    notifier = const.DEFAULT_NOTIFIER
    if isinstance(value, dict):
        c.check_keys(value, CANCEL_KEYS, f"{intent}.cancel_alerts")
        if ("tag" in value) == ("intent" in value):
            c.error(pos, f"{intent}.cancel_alerts needs exactly one of tag or intent")
            return None
        notifier = notifier_name(c, value.get("notifier", notifier), c.vpos(value, "notifier"))
        if "intent" in value:
            if not is_intent_name(value["intent"]):
                c.error(c.vpos(value, "intent"), f"{intent}.cancel_alerts.intent must be an intent name")
                return None
            source, tpos = default_alert_tag(value["intent"]), c.vpos(value, "intent")
        else:
            source, tpos = value["tag"], c.vpos(value, "tag")
    elif isinstance(value, str):
        source, tpos = default_alert_tag(value), pos
    else:
        c.error(pos, f"{intent}.cancel_alerts must be an intent name or {{tag: …}}")
        return None
    tag = localized_template(c, source, tpos, f"{intent}.cancel_alerts.tag")
    return CancelSpec(tag, notifier, pos or Pos(c.path, 1, 1)) if tag else None


def _is_host_entry(entry: str) -> bool:
    """True for a host name or host:port."""
    try:
        parse_host_entry(entry)
    except ConfigError:
        return False
    return True
