"""The types the rest of the skill reads: an IntentMap of IntentSpecs, each part with its position.

Nothing here parses or renders: this module imports only ``errors`` and ``const``, so ``render``
and every other reader may import it without an import circle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from .. import const
from ..errors import Problem

LOCALE_RE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FALLBACK_KEY = "default"


class Template(Protocol):
    """A compiled template as the map holds it (``render.Template`` is the one the loader makes)."""

    source: str
    variables: frozenset[str]
    literal: bool
    ssml: bool

    def render(self, context: Any) -> str:
        """The text for ``context``."""
        ...


@dataclass(frozen=True)
class Pos:
    """A position in a file (1-based line and column)."""

    path: str
    line: int
    col: int


@dataclass
class Localized:
    """A value given once, or per locale (``en-US``, ``de``, ``default``)."""

    values: dict[str, Any]

    def pick(self, locale: str | None) -> Any:
        """The value for ``locale``: exact, then same language, then the fallback, then the first."""
        if len(self.values) == 1:  # most fields: one text for every locale
            return next(iter(self.values.values()))
        if locale and locale in self.values:
            return self.values[locale]
        if locale:
            lang = locale.split("-")[0]
            if lang in self.values:
                return self.values[lang]
            for key, value in self.values.items():
                if key.split("-")[0] == lang:
                    return value
        for key in (FALLBACK_KEY, const.DEFAULT_LOCALE):
            if key in self.values:
                return self.values[key]
        return next(iter(self.values.values()))

    def all(self) -> Iterator[Any]:
        """Every value, whatever its locale."""
        return iter(self.values.values())


@dataclass
class TemplateField:
    """A field given literally or as a template, possibly per locale."""

    templates: Localized
    pos: Pos

    def pick(self, locale: str | None) -> Template:
        """The template for ``locale``."""
        return self.templates.pick(locale)

    @cached_property
    def constant(self) -> str | None:
        """What every render gives, when the field is one literal text for every locale (most fields); else None.

        Worked out on the first request (the map is loaded by then), so that request after request
        the text is not picked and rendered again.
        """
        values = list(self.templates.all())
        return values[0].source if len(values) == 1 and values[0].literal else None


@dataclass
class NotifierSpec:
    """A named Pushover notifier: which environment variables hold its token and user key(s)."""

    name: str
    token_env: str
    user_env: str
    pos: Pos | None = None


@dataclass(frozen=True)
class PersonSpec:
    """A person of ``people:``: their voice profiles' ids and where their notifications go."""

    name: str
    person_ids: tuple[str, ...] = ()
    #: the environment variable holding their Pushover user key
    user_env: str = ""
    #: their default devices (a notification's own target wins)
    devices: tuple[str, ...] = ()
    notifier: str = const.DEFAULT_NOTIFIER
    #: other names people say for them ("dad")
    synonyms: tuple[str, ...] = ()
    pos: Pos | None = field(default=None, compare=False)


@dataclass
class NotificationSpec:
    """One Pushover notification of an intent."""

    notifier: str
    fields: dict[str, TemplateField]
    #: target names, each a template (several devices)
    targets: list[TemplateField]
    #: literal typed values (priority, retry, expire, ttl, html, monospace, timestamp)
    values: dict[str, Any]
    validate_devices: bool
    pos: Pos
    #: where each key's value stands, for messages about it
    value_pos: dict[str, Pos] = field(default_factory=dict)
    #: whose Pushover it goes to: ``me`` (the speaker) or a person's name (a template); None: the notifier's
    to: TemplateField | None = None

    @property
    def priority(self) -> int | None:
        """The literal priority, if one is set."""
        value = self.values.get("priority")
        return value if isinstance(value, int) else None


@dataclass
class SpeechSpec:
    """Speech or reprompt text: plain text (escaped) or SSML."""

    text: TemplateField


@dataclass
class CardSpec:
    """A simple card shown in the Alexa app."""

    title: TemplateField
    content: TemplateField
    pos: Pos


@dataclass
class SlotSpec:
    """A slot of an intent: its type, default, and whether Alexa must ask for it."""

    name: str
    type: str | None = None
    default: str | None = None
    required: bool = False
    prompt: TemplateField | None = None
    declared: bool = True
    pos: Pos | None = None


@dataclass
class SlotTypeValue:
    """One value of a custom slot type."""

    value: str
    id: str | None = None
    synonyms: list[str] = field(default_factory=list)


@dataclass
class SlotTypeSpec:
    """A custom slot type declared in the map."""

    name: str
    values: dict[str, list[SlotTypeValue]]  # per locale key (or "default")
    pos: Pos

    def pick(self, locale: str) -> list[SlotTypeValue]:
        """The values for ``locale``."""
        return Localized(self.values).pick(locale)


@dataclass
class CancelSpec:
    """Cancel emergency alerts by tag (``receipts/cancel_by_tag``)."""

    tag: TemplateField
    notifier: str
    pos: Pos


#: What the speech, reprompt and card of an ``alert_status`` intent may read (skill/receipts/speech.py).
ALERT_STATUS_NAMES = frozenset(
    {
        "alert", "state", "acknowledged", "acknowledged_by", "acknowledged_device", "acknowledged_at", "sent_at",
        "expires_at", "expired", "cancelled", "cancelled_at", "retry",
    }
)  # fmt: skip


#: What the templates of a session end (``<applicationId>.SessionEndedRequest``) may read besides the
#: usual names, as in Home Assistant: the request's ``reason`` and its ``error`` (``type``, ``message``) or None.
SESSION_END_NAMES = frozenset({"reason", "error"})


@dataclass
class IntentSpec:
    """Everything the map says about one intent."""

    name: str
    pos: Pos
    notifications: list[NotificationSpec] = field(default_factory=list)
    speech: SpeechSpec | None = None
    reprompt: SpeechSpec | None = None
    card: CardSpec | None = None
    slots: dict[str, SlotSpec] = field(default_factory=dict)
    slots_declared: bool = False
    samples: dict[str, list[str]] = field(default_factory=dict)
    samples_pos: Pos | None = None
    #: where each sample stands, per locale key (parallel to ``samples``)
    sample_pos: dict[str, list[Pos]] = field(default_factory=dict)
    confirm: TemplateField | None = None
    cancel: CancelSpec | None = None
    #: ``alert_status: EmergencyIntent``: this intent reports on that intent's newest alert
    alert_status: str | None = None
    alert_status_pos: Pos | None = None
    end_session: bool | None = None
    form: str = "native"

    def defaults(self) -> dict[str, str]:
        """Slot defaults by slot name."""
        return {name: slot.default for name, slot in self.slots.items() if slot.default is not None}

    @property
    def keeps_session_open(self) -> bool:
        """True when the skill listens after answering (a reprompt, unless told otherwise).

        A reprompt that renders empty counts as none when the request is answered (``service``).
        """
        if self.end_session is not None:
            return not self.end_session
        return self.reprompt is not None


@dataclass
class EntryNote:
    """What became of one entry of a Home Assistant block: what ``check`` tells about a pasted file."""

    block: str  # "intent_script" or "alexa.intents"
    name: str
    became: str  # "intent", "launch answer", "session end" or "skipped"
    why: str = ""
    pos: Pos | None = None


@dataclass
class IntentMap:
    """A loaded, validated intent map."""

    path: str
    form: str
    intents: dict[str, IntentSpec]
    notifiers: dict[str, NotifierSpec]
    invocation_names: dict[str, str] = field(default_factory=dict)
    invocation_pos: Pos | None = None
    #: where each locale's invocation name stands
    invocation_positions: dict[str, Pos] = field(default_factory=dict)
    launch: SpeechSpec | None = None
    launch_reprompt: SpeechSpec | None = None
    help: SpeechSpec | None = None
    attachment_dirs: list[str] = field(default_factory=list)
    attachment_hosts: list[str] = field(default_factory=list)
    slot_types: dict[str, SlotTypeSpec] = field(default_factory=dict)
    locales: list[str] = field(default_factory=list)
    #: ``people:``: who may be notified by name or as ``me``
    people: dict[str, PersonSpec] = field(default_factory=dict)
    #: ``rooms:``: deviceId -> the room's name
    rooms: dict[str, str] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    #: Home Assistant's launch answers: ``intent_script`` entries named by a skill's applicationId
    launch_answers: dict[str, IntentSpec] = field(default_factory=dict)
    #: ``intent_script`` entries named ``<applicationId>.SessionEndedRequest``, run when a session ends
    session_ends: dict[str, IntentSpec] = field(default_factory=dict)
    #: the top-level blocks (and parts of them) that were read, and those that were not
    blocks_used: list[str] = field(default_factory=list)
    blocks_ignored: list[str] = field(default_factory=list)
    #: one note per entry of a Home Assistant block
    entries: list[EntryNote] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.intents)

    def specs(self) -> list[IntentSpec]:
        """Every intent, launch answer and session end: all that may send or speak."""
        return [*self.intents.values(), *self.launch_answers.values(), *self.session_ends.values()]
