"""Who is speaking, and where: a personId names a person of the map, a deviceId a room.

Pure: the envelope's context comes in as plain values (the ids as text), and nothing here reads
a request, the network or a file. ``People`` is built once per process from the map's
``people:`` and ``rooms:``; per request it turns two ids into a ``Speaker`` and a ``to:`` into a
``PersonSpec`` (or a ``Refusal`` that says why nobody gets the notification). Ids that the map
does not know are remembered (bounded) and logged once each, so a person can copy them into the map.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .const import SIMULATED_DEVICE_ID
from .intent_map.spec import PersonSpec
from .ssml import escape_markup

logger = logging.getLogger(__name__)

#: What Alexa's person and device ids look like (amzn1.ask.person.…, amzn1.ask.device.…); anything
#: else is not an id and is treated as absent.
ID_RE: Final = re.compile(r"^[A-Za-z0-9._:-]{1,400}$")
#: How many unknown ids of each kind are remembered for /healthz.
MAX_UNKNOWN_IDS: Final = 20
#: ``to: me``: the recognized speaker.
TO_ME: Final = "me"
#: A notification for a person goes through the route ``person:<name>`` (a notifier name to the outbox).
PERSON_ROUTE_PREFIX: Final = "person:"


def person_route(name: str) -> str:
    """The route (what the outbox keeps instead of a notifier name) of a notification for person ``name``."""
    return PERSON_ROUTE_PREFIX + name


def person_of(route: str) -> str | None:
    """The person a route is for, or None for a notifier's own route."""
    return route.removeprefix(PERSON_ROUTE_PREFIX) if route.startswith(PERSON_ROUTE_PREFIX) else None


def valid_id(value: object) -> str:
    """``value`` when it looks like an Alexa id, else empty."""
    return value if isinstance(value, str) and ID_RE.match(value) else ""


def match_key(name: str) -> str:
    """A name as it is matched: case, accents, spaces and punctuation forgiven ("Jürgen-M." ~ "jurgen m")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


class SpokenName:
    """The speaker's name for a template (``speaker_name``).

    In speech it is Alexa's ``<alexa:name type="first" personId="…"/>`` tag, which Alexa replaces
    with the first name of the recognized voice profile; everywhere else (a notification, a card)
    it is the person's key in ``people:``. Nothing from the request but a checked id enters the tag.
    """

    __slots__ = ("_markup", "_text")

    def __init__(self, person_id: str, text: str = "") -> None:
        checked = valid_id(person_id)
        self._text = text
        self._markup = (
            f'<alexa:name type="first" personId="{escape_markup(checked, quote=True)}"/>'
            if checked
            else escape_markup(text)
        )

    def __html__(self) -> str:
        return self._markup

    def __str__(self) -> str:
        return self._text

    def __bool__(self) -> bool:
        return bool(self._markup)

    def __repr__(self) -> str:
        return f"SpokenName({self._text!r})"


#: The ``speaker_name`` of a request without a recognized voice (it has nothing to change).
_NO_NAME: Final = SpokenName("")


@dataclass(frozen=True)
class Speaker:
    """Who spoke and on which Echo, for one request."""

    #: the recognized voice's personId as Alexa sent it; empty when no voice was recognized
    person_id: str = ""
    device_id: str = ""
    #: the person of the map with that personId, if any
    person: PersonSpec | None = None
    #: the name of the Echo's room, if ``rooms:`` has it
    room: str = ""

    @property
    def name(self) -> str:
        """The person's key in ``people:``, else empty."""
        return self.person.name if self.person else ""

    def template_names(self) -> dict[str, Any]:
        """What templates see: ``speaker``, ``speaker_name``, ``room``, ``person_id``, ``device_id``."""
        name = self.name
        return {
            "speaker": name,
            "speaker_name": SpokenName(self.person_id, name) if self.person_id or name else _NO_NAME,
            "room": self.room,
            "person_id": self.person_id,
            "device_id": self.device_id,
        }


@dataclass(frozen=True)
class Refusal:
    """Why a notification goes to nobody. ``reason`` is a phrase key; ``name`` what was asked for."""

    reason: str
    name: str = ""


class Sightings:
    """Ids seen but not in the map: a count per id, at most ``limit`` ids, thread-safe."""

    def __init__(self, limit: int = MAX_UNKNOWN_IDS) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}
        self._others = 0
        self._lock = threading.Lock()

    def add(self, ident: str) -> bool:
        """Count one request from ``ident``; True the first time it is seen (and remembered)."""
        with self._lock:
            if ident in self._counts:
                self._counts[ident] += 1
                return False
            if len(self._counts) >= self.limit:
                self._others += 1
                return False
            self._counts[ident] = 1
            return True

    def forget(self, idents: Iterable[str]) -> None:
        """Stop listing these ids (a reloaded map now has them)."""
        with self._lock:
            for ident in idents:
                self._counts.pop(ident, None)

    def snapshot(self) -> dict[str, Any]:
        """``{"requests": n, "ids": {id: count, …}, "more": requests from ids not listed}``."""
        with self._lock:
            ids = dict(self._counts)
            others = self._others
        return {"requests": sum(ids.values()) + others, "ids": ids, "more": others}


@dataclass
class People:
    """The map's people and rooms, and what was seen that they lack."""

    people: Mapping[str, PersonSpec] = field(default_factory=dict)
    #: deviceId -> room name
    rooms: Mapping[str, str] = field(default_factory=dict)
    unknown_persons: Sightings = field(default_factory=Sightings)
    unknown_devices: Sightings = field(default_factory=Sightings)

    def __post_init__(self) -> None:
        self._by_person_id = {pid: person for person in self.people.values() for pid in person.person_ids}
        self._by_name: dict[str, PersonSpec] = {}
        for person in self.people.values():
            for name in (person.name, *person.synonyms):
                self._by_name.setdefault(match_key(name), person)

    # -- who and where

    def identify(self, person_id: str | None, device_id: str | None) -> Speaker:
        """The speaker and room of one request; an id the map lacks is logged the first time it is seen."""
        pid, did = valid_id(person_id), valid_id(device_id)
        person = self._by_person_id.get(pid) if pid else None
        room = self.rooms.get(did, "") if did else ""
        if pid and person is None and self.unknown_persons.add(pid):
            logger.log(
                logging.WARNING if self.people else logging.INFO,
                "a voice profile this map does not know spoke: add its id under people: <name>: person_ids: [%s]",
                pid,
            )
        if did and not room and did != SIMULATED_DEVICE_ID and self.unknown_devices.add(did):
            logger.log(  # a map without any rooms: has not asked for them, so the hint is only for who looks
                logging.INFO if self.rooms else logging.DEBUG,
                "an Echo without a room spoke: to name it, add rooms: {%s: <room name>}",
                did,
            )
        return Speaker(pid, did, person, room)

    def carry_over(self, previous: People) -> None:
        """After a reload: go on with the ids the previous map lacked (each still logged only once), but
        without those this map now has."""
        self.unknown_persons, self.unknown_devices = previous.unknown_persons, previous.unknown_devices
        self.unknown_persons.forget(self._by_person_id)
        self.unknown_devices.forget(self.rooms)

    # -- to whom

    def recipient(self, to: str, speaker: Speaker) -> PersonSpec | Refusal:
        """The person a notification with ``to:`` (rendered) goes to, or why it goes to nobody."""
        wanted = to.strip()
        if wanted.casefold() == TO_ME:
            if speaker.person is not None:
                return speaker.person
            if not speaker.person_id:
                return Refusal("voice_unknown")
            logger.warning(
                "to: me, but voice profile %s is not in people:, so nothing was sent; add it: "
                "people: <name>: person_ids: [%s]",
                speaker.person_id,
                speaker.person_id,
            )
            return Refusal("voice_not_in_map")
        if not wanted:
            return Refusal("person_missing")
        person = self.find(wanted)
        return person if person is not None else Refusal("person_unknown", wanted)

    def find(self, name: str) -> PersonSpec | None:
        """The person called ``name`` (key or synonym; case, accents, spaces and punctuation forgiven)."""
        key = match_key(name)
        return self._by_name.get(key) if key else None

    def names(self) -> list[str]:
        """The people's keys, in map order."""
        return list(self.people)

    def name_for_user_key(self, user_key: str, environ: Mapping[str, str]) -> str | None:
        """The person whose Pushover user key (the value of their ``user_env``) is ``user_key``."""
        wanted = user_key.strip()
        if not wanted:
            return None
        for person in self.people.values():
            if wanted in _keys(environ.get(person.user_env, "")):
                return person.name
        return None

    def health(self) -> dict[str, Any]:
        """What /healthz shows: how many people and rooms, and the ids seen that the map lacks."""
        return {
            "people": len(self.people),
            "rooms": len(self.rooms),
            "unknown_person_ids": self.unknown_persons.snapshot(),
            "unknown_device_ids": self.unknown_devices.snapshot(),
        }


def _keys(value: str) -> Iterable[str]:
    return {part.strip() for part in value.split(",") if part.strip()}
