"""``people:`` and ``rooms:``: who may be notified by name or as ``me``, and what each Echo is called.

Also the person slot type (``slot_types: {PersonName: {from: people}}``) and the checks of every
``to:`` once the intents are read.
"""

from __future__ import annotations

import re

from .. import const
from ..people import ID_RE, TO_ME, match_key
from .checker import Checker, kind
from .keys import PERSON_KEYS, SLOT_TYPE_FROM_KEYS
from .notification import notifier_name
from .spec import ENV_NAME_RE, FALLBACK_KEY, IntentMap, PersonSpec, Pos, SlotTypeSpec, SlotTypeValue
from .yaml_reader import YMap

PERSON_ID_PREFIX = "amzn1.ask.person."
DEVICE_ID_PREFIX = "amzn1.ask.device."


def read_people(c: Checker, top: YMap, imap: IntentMap) -> None:
    """``people: {<name>: {person_ids, user_env, devices, notifier, synonyms}}`` (after ``notifiers:``)."""
    people = c.expect_map(top["people"], c.vpos(top, "people"), "people")
    names: dict[str, str] = {}  # match key -> the person it names
    owners: dict[str, str] = {}  # person id -> its person
    for name, body in (people or {}).items():
        kpos = c.kpos(people, name)
        if not isinstance(name, str) or not match_key(name):
            c.error(kpos, f"people: {name!r} is not a name (letters or digits, as people say it)")
            continue
        body_map = c.expect_map(body, c.vpos(people, name), f"person {name}")
        if body_map is None:
            continue
        where = f"person {name}"
        c.check_keys(body_map, PERSON_KEYS, where)
        person_ids = []
        for pid, ipos in _texts(c, body_map, "person_ids", where):
            if not ID_RE.match(pid):
                c.error(ipos, f"{where}: {pid[:60]!r} is not a personId (copy it from the log or /healthz)")
            elif pid in owners:
                whose = "listed twice" if owners[pid] == name else f"also {owners[pid]}'s; one voice is one person"
                c.error(ipos, f"{where}: personId {pid} is {whose}")
            else:
                if not pid.startswith(PERSON_ID_PREFIX):
                    c.warn(ipos, f"{where}: {pid} does not look like a personId ({PERSON_ID_PREFIX}…)")
                owners[pid] = name
                person_ids.append(pid)
        user_env = body_map.get("user_env")
        if not isinstance(user_env, str) or not ENV_NAME_RE.match(user_env):
            c.error(
                c.vpos(body_map, "user_env") if "user_env" in body_map else body_map.pos,
                f"{where}: user_env must name the environment variable holding their Pushover user key, "
                f"e.g. {_env_stem(name)}_PUSHOVER_USER",
            )
            user_env = ""
        devices = []
        for device, ipos in _texts(c, body_map, "devices", where):
            if const.DEVICE_NAME_RE.match(device):
                devices.append(device)
            else:
                c.error(
                    ipos, f"{where}.devices: {device!r} is not a Pushover device name (1-25 letters, digits, _ or -)"
                )
        notifier = const.DEFAULT_NOTIFIER
        if "notifier" in body_map:
            notifier = notifier_name(c, body_map["notifier"], c.vpos(body_map, "notifier"))
            if notifier != const.DEFAULT_NOTIFIER and notifier not in imap.notifiers:
                c.error(
                    c.vpos(body_map, "notifier"), f"{where}: notifier {notifier!r} is not declared under notifiers:"
                )
        synonyms = _texts(c, body_map, "synonyms", where)
        for said, pos in [(name, kpos), *synonyms]:
            key = match_key(said)
            if not key:
                c.error(pos, f"{where}: synonym {said!r} has no letters or digits")
            elif names.get(key, name) != name:
                c.error(pos, f"{where}: {said!r} also names {names[key]}; a name must say whom it means")
            else:
                names[key] = name
        imap.people[name] = PersonSpec(
            name,
            tuple(person_ids),
            user_env,
            tuple(devices),
            notifier,
            tuple(s for s, _ in synonyms),
            kpos or body_map.pos,
        )


def read_rooms(c: Checker, top: YMap, imap: IntentMap) -> None:
    """``rooms: {<deviceId>: <room name>}``."""
    rooms = c.expect_map(top["rooms"], c.vpos(top, "rooms"), "rooms")
    for device_id, room in (rooms or {}).items():
        kpos, vpos = c.kpos(rooms, device_id), c.vpos(rooms, device_id)
        if not isinstance(device_id, str) or not ID_RE.match(device_id):
            c.error(kpos, f"rooms: {str(device_id)[:60]!r} is not a deviceId (copy it from the log or /healthz)")
            continue
        if not device_id.startswith(DEVICE_ID_PREFIX):
            c.warn(kpos, f"rooms: {device_id} does not look like a deviceId ({DEVICE_ID_PREFIX}…)")
        if not isinstance(room, str | int) or isinstance(room, bool) or not str(room).strip():
            c.error(vpos, f"rooms: the room of {device_id} must be a name such as kitchen, not {kind(room)}")
            continue
        imap.rooms[device_id] = " ".join(str(room).split())


def people_slot_type(c: Checker, name: str, body: YMap, kpos: Pos | None, imap: IntentMap) -> SlotTypeSpec | None:
    """``{from: people}``: a slot type whose values are the people (id = name) with their synonyms."""
    c.check_keys(body, SLOT_TYPE_FROM_KEYS, f"slot type {name}")
    if body["from"] != "people":
        c.error(c.vpos(body, "from"), f"slot type {name}: from must be people, not {kind(body['from'])}")
        return None
    if not imap.people:
        c.error(kpos, f"slot type {name}: from: people, but the map has no people:")
        return None
    values = [SlotTypeValue(p.name, p.name, list(p.synonyms)) for p in imap.people.values()]
    return SlotTypeSpec(name, {FALLBACK_KEY: values}, kpos or body.pos)


def check_recipients(c: Checker, imap: IntentMap) -> None:
    """Every ``to:`` names a person of ``people:`` (or ``me``), and comes with no ``notifier:`` of its own."""
    known = {match_key(n) for p in imap.people.values() for n in (p.name, *p.synonyms)}
    for spec in imap.intents.values():
        for notification in spec.notifications:
            if notification.to is None:
                continue
            pos = notification.value_pos.get("to", notification.pos)
            if not imap.people:
                c.error(pos, f"{spec.name}: to: needs people: (whose voice is whose, and their Pushover user keys)")
                continue
            if "notifier" in notification.value_pos:
                c.error(
                    notification.value_pos["notifier"],
                    f"{spec.name}: a notification with to: uses the person's notifier; leave out notifier:",
                )
            for tmpl in notification.to.templates.all():
                said = tmpl.source.strip()
                if tmpl.literal and said.casefold() != TO_ME and match_key(said) not in known:
                    c.error(
                        pos,
                        f"{spec.name}: to: {said!r} is no person under people: "
                        f"(people: {', '.join(imap.people)}; or to: me for the speaker)",
                    )


def _texts(c: Checker, body: YMap, key: str, where: str) -> list[tuple[str, Pos | None]]:
    """The text items under ``key`` (one, or a list) with where each stands; a problem for anything else."""
    if key not in body:
        return []
    items = c.expect_list(body[key], c.vpos(body, key), f"{where}.{key}", allow_scalar=True)
    out = []
    for item, pos in zip(items or [], getattr(items, "item_pos", []), strict=True):
        if isinstance(item, str | int) and not isinstance(item, bool) and str(item).strip():
            out.append((str(item).strip(), pos))
        else:
            c.error(pos, f"{where}.{key}: each entry must be text")
    return out


def _env_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "PERSON"
