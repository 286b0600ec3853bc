"""One Pushover notification, from our flat keys or from Home Assistant's ``data:`` (+ nested ``data:``)."""

from __future__ import annotations

import re
from typing import Any

from .. import const
from .checker import Checker, kind
from .fields import localized_template
from .keys import NOTIFY_ALIASES, NOTIFY_FIELDS_BOOL, NOTIFY_FIELDS_INT, NOTIFY_FLAT_ONLY, NOTIFY_KEYS
from .spec import NotificationSpec, Pos, TemplateField
from .yaml_reader import YMap

_LIMITS = {
    "message": const.MAX_MESSAGE_CHARS,
    "title": const.MAX_TITLE_CHARS,
    "url": const.MAX_URL_CHARS,
    "url_title": const.MAX_URL_TITLE_CHARS,
    "tags": const.MAX_TAGS_CHARS,
}


def read_notification(
    c: Checker, intent: str, body: YMap, *, flat: bool, extra: YMap | None = None
) -> NotificationSpec:
    """One notification. ``flat``: our keys side by side; else HA's ``data`` (+ nested ``data``)."""
    where = f"{intent}.notify"
    spec = NotificationSpec(const.DEFAULT_NOTIFIER, {}, [], {}, False, body.pos)
    explicit_validate: bool | None = None
    sources: list[tuple[YMap, str]] = [(body, where)]
    if extra is not None:
        sources.append((extra, f"{where} data.data"))
    for mapping, label in sources:
        for key in list(mapping):
            canonical = NOTIFY_ALIASES.get(key, key)
            kpos, vpos, value = c.kpos(mapping, key), c.vpos(mapping, key), mapping[key]
            if canonical not in NOTIFY_KEYS or (not flat and canonical in NOTIFY_FLAT_ONLY):
                allowed = ", ".join(sorted(NOTIFY_KEYS if flat else NOTIFY_KEYS - NOTIFY_FLAT_ONLY))
                c.error(kpos, f"unknown key {key!r} in {label}; expected one of: {allowed}")
                continue
            if canonical in spec.value_pos:
                c.error(kpos, f"{where}: {canonical} is given twice")
                continue
            spec.value_pos[canonical] = vpos or body.pos
            if canonical == "notifier":
                spec.notifier = notifier_name(c, value, vpos)
            elif canonical == "validate_devices":
                if isinstance(value, bool):
                    explicit_validate = value
                else:
                    c.error(vpos, f"{where}.validate_devices must be true or false")
            elif canonical == "target":
                targets(c, spec, value, vpos, where)
            elif canonical == "to":
                if isinstance(value, str) and not value.strip():
                    c.error(vpos, f"{where}.to must be me or a person's name")
                else:
                    spec.to = localized_template(c, value, vpos, f"{where}.to")
            elif canonical in NOTIFY_FIELDS_BOOL:
                if isinstance(value, bool):
                    spec.values[canonical] = value
                else:
                    c.error(vpos, f"{where}.{canonical} must be true or false, not {kind(value)}")
            elif canonical in NOTIFY_FIELDS_INT or canonical == "timestamp":
                number_field(c, spec, canonical, value, vpos, where)
            else:
                field_ = localized_template(c, value, vpos, f"{where}.{canonical}")
                if field_:
                    spec.fields[canonical] = field_
                    check_literal_length(c, canonical, field_, where)
    if "message" not in spec.value_pos:
        c.error(body.pos, f"{where} needs a message")
    if explicit_validate is None:
        explicit_validate = any(not t.pick(None).literal for t in spec.targets)
    spec.validate_devices = explicit_validate
    check_priority(c, spec, where)
    sound = spec.fields.get("sound")
    if sound is not None:
        for tmpl in sound.templates.all():
            if tmpl.literal and tmpl.source not in const.BUILTIN_SOUNDS:
                c.warn(
                    sound.pos,
                    f"{where}.sound: {tmpl.source!r} is not a built-in sound (fine if it is a custom sound "
                    "of your account; `check --online` asks Pushover)",
                    "custom-sound",
                )
    return spec


def targets(c: Checker, spec: NotificationSpec, value: Any, pos: Pos | None, where: str) -> None:
    """Device names: one, comma-separated, a list, or templates."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")] if "{" not in value else [value]
        positions = [pos] * len(items)
    elif isinstance(value, list):
        items, positions = list(value), list(value.item_pos)  # type: ignore[attr-defined]
    else:
        c.error(pos, f"{where}.target must be a device name or a list of them, not {kind(value)}")
        return
    for item, ipos in zip(items, positions, strict=True):
        if not isinstance(item, str | int) or isinstance(item, bool):
            c.error(ipos, f"{where}.target: each device must be text")
            continue
        field_ = localized_template(c, str(item), ipos, f"{where}.target")
        if field_ is None:
            continue
        tmpl = field_.pick(None)
        if tmpl.literal and not const.DEVICE_NAME_RE.match(tmpl.source):
            c.error(
                ipos,
                f"{where}.target: {tmpl.source!r} is not a Pushover device name (1-25 letters, digits, _ or -)",
            )
            continue
        spec.targets.append(field_)


def number_field(c: Checker, spec: NotificationSpec, key: str, value: Any, pos: Pos | None, where: str) -> None:
    """A whole-number field, literal or a template."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list | float):
        c.error(pos, f"{where}.{key} must be a whole number, not {kind(value)}")
        return
    if isinstance(value, int):
        spec.values[key] = value
        return
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        spec.values[key] = int(text)
    elif key == "timestamp" and text == "now":
        spec.values[key] = "now"
    elif "{" in text:
        field_ = localized_template(c, text, pos, f"{where}.{key}")
        if field_:
            spec.fields[key] = field_
    else:
        c.error(pos, f"{where}.{key} must be a whole number, not {text!r}")


def check_literal_length(c: Checker, key: str, field_: TemplateField, where: str) -> None:
    """A literal longer than Pushover accepts."""
    limit = _LIMITS.get(key)
    if limit is None:
        return
    for tmpl in field_.templates.all():
        if tmpl.literal and len(tmpl.source) > limit:
            c.error(field_.pos, f"{where}.{key} is {len(tmpl.source)} characters; Pushover allows {limit}")


def check_priority(c: Checker, spec: NotificationSpec, where: str) -> None:
    """Priority, retry, expire, ttl and html/monospace as Pushover allows them."""
    values = spec.values

    def at(key: str) -> Pos:
        return spec.value_pos.get(key, spec.pos)

    priority = values.get("priority")
    if isinstance(priority, int) and not const.MIN_PRIORITY <= priority <= const.MAX_PRIORITY:
        c.error(at("priority"), f"{where}.priority must be between -2 and 2, not {priority}")
    retry, expire = values.get("retry"), values.get("expire")
    if isinstance(retry, int) and retry < const.MIN_RETRY_S:
        c.error(at("retry"), f"{where}.retry must be at least {const.MIN_RETRY_S} seconds, not {retry}")
    if isinstance(expire, int) and not 0 < expire <= const.MAX_EXPIRE_S:
        c.error(at("expire"), f"{where}.expire must be between 1 and {const.MAX_EXPIRE_S} seconds, not {expire}")
    if priority == const.EMERGENCY_PRIORITY:
        missing = [k for k in ("retry", "expire") if k not in spec.value_pos]
        if missing:
            c.error(at("priority"), f"{where}: priority 2 (emergency) needs {' and '.join(missing)}")
        if "ttl" in spec.value_pos:
            c.error(at("ttl"), f"{where}: ttl cannot be used with priority 2")
    ttl = values.get("ttl")
    if isinstance(ttl, int) and ttl <= 0:
        c.error(at("ttl"), f"{where}.ttl must be a positive number of seconds, not {ttl}")
    if values.get("html") and values.get("monospace"):
        c.error(at("monospace"), f"{where}: html and monospace cannot both be set")


def notifier_name(c: Checker, value: Any, pos: Pos | None) -> str:
    """``notify.<name>`` or ``<name>`` -> the notifier's name (``notify`` by default)."""
    if not isinstance(value, str):
        c.error(pos, f"notifier must be text, not {kind(value)}")
        return const.DEFAULT_NOTIFIER
    return value.removeprefix("notify.") or const.DEFAULT_NOTIFIER
