"""Per request: the template context of the slots, speech as SSML, notifications rendered and checked.

The templates themselves (sandboxed Jinja, compiled once) are skill/templates.py; SSML escaping and
cutting are skill/ssml.py. Both are imported from here too, where they always were.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import const
from .errors import RenderError
from .intent_map.spec import NotificationSpec, TemplateField
from .ssml import NOT_XML_RE, cut_ssml, escape_ssml
from .templates import Template, compile_template

if TYPE_CHECKING:
    from .intent_map.spec import IntentSpec
    from .outcome import Delivery
    from .pushover import Message

__all__ = [
    "CONTEXT_NAMES", "PEOPLE_NAMES", "SPEECH_NAMES", "RenderedNotification", "SlotValue", "Template",
    "build_context", "compile_template", "cut_ssml", "default_alert_tag", "escape_ssml", "render_notification",
    "render_speech", "render_text", "response_templates", "slot_key", "speech_context", "truncate",
]  # fmt: skip


#: Who is speaking and where (skill.people): every template may use these.
PEOPLE_NAMES = frozenset({"speaker", "speaker_name", "room", "person_id", "device_id"})
#: Names every template may use besides the slots.
CONTEXT_NAMES = frozenset({"intent_name", "locale", "now", "timestamp"}) | PEOPLE_NAMES
#: Extra names speech, reprompt and card templates may use: what was sent.
SPEECH_NAMES = frozenset(
    {"message", "title", "devices", "priority", "retry", "expire", "receipt", "canceled", "notifications"}
)


@dataclass(frozen=True)
class SlotValue:
    """One slot as heard: the spoken value, and the canonical value and id when resolved."""

    name: str
    spoken: str | None = None
    canonical: str | None = None
    id: str | None = None

    @property
    def value(self) -> str | None:
        """What templates see: the canonical name when resolution matched once, else the spoken words."""
        return self.canonical if self.canonical is not None else self.spoken


#: The speaker names of a request without a recognized voice or a known room.
_NOBODY: dict[str, Any] = dict.fromkeys(PEOPLE_NAMES, "")


def slot_key(name: str) -> str:
    """The context name of a slot: case kept, ``.`` replaced by ``_``."""
    return name.replace(".", "_")


def build_context(
    slots: Mapping[str, SlotValue],
    defaults: Mapping[str, str] | None = None,
    *,
    intent_name: str = "",
    locale: str = "",
    now: float | None = None,
    names: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context of one request: every slot by name, ``<Slot>_Id``, and a few known names.

    ``names``: more known names (who is speaking and where); a slot of the same name wins.
    """
    stamp = time.time() if now is None else now
    context: dict[str, Any] = {**_NOBODY, **names} if names else dict(_NOBODY)
    context["intent_name"] = intent_name
    context["locale"] = locale
    context["now"] = dt.datetime.fromtimestamp(stamp, tz=dt.UTC)
    context["timestamp"] = int(stamp)
    defaults = defaults or {}
    for name, default in defaults.items():
        key = slot_key(name)
        context[key] = default
        context[key + "_Id"] = ""
    for name, slot in slots.items():
        key = slot_key(name)
        value = slot.value
        if value is None or value == "":
            value = defaults.get(name, "")
        context[key] = value
        context[key + "_Id"] = slot.id or ""
    return context


def speech_context(context: dict[str, Any], deliveries: list[Delivery], reads: frozenset[str]) -> dict[str, Any]:
    """What speech, reprompt and card templates see: the request's context and what was sent.

    ``reads``: the names of what was sent that those templates read; when none, ``context`` as it is
    (templates see only the names they read, so nothing else could tell the difference).
    """
    if not reads:
        return context
    result = dict(context)
    if deliveries:
        first = deliveries[0].message
        result.update(
            message=first.message, title=first.title or "", devices=list(first.devices), priority=first.priority,
            retry=first.retry, expire=first.expire, receipt=deliveries[0].receipt or "",
        )  # fmt: skip
    if "notifications" in reads:  # building the list costs more than the rest of the answer
        result["notifications"] = [d.as_dict() for d in deliveries]
    return result


def response_templates(spec: IntentSpec) -> list[Template]:
    """The templates of what an intent says after sending: speech, reprompt, card title and content."""
    fields = [spec.speech.text if spec.speech else None, spec.reprompt.text if spec.reprompt else None]
    if spec.card:
        fields += [spec.card.title, spec.card.content]
    return [t for f in fields if f is not None for t in f.templates.all()]


def default_alert_tag(intent_name: str) -> str:
    """The tag emergency alerts of an intent carry unless the map names one."""
    return "alexa-" + re.sub(r"[^A-Za-z0-9_-]", "-", intent_name).lower()


def render_speech(template: Template, context: Mapping[str, Any]) -> str:
    """Render speech to SSML body text (without the ``<speak>`` wrapper)."""
    text = template.render(context)
    if template.speech:
        return NOT_XML_RE.sub("", text.strip())
    if not template.ssml:
        return escape_ssml(text.strip())
    text = text.strip()
    if text.startswith("<speak>") and text.endswith("</speak>"):
        text = text[len("<speak>") : -len("</speak>")].strip()
    return NOT_XML_RE.sub("", text)


# --------------------------------------------------------------------------- notifications


@dataclass
class RenderedNotification:
    """A notification rendered for one request, before devices are checked and the attachment is read.

    Not frozen (it is built per request; see ``Message``): a change makes a new one (``dataclasses.replace``).
    """

    notifier: str
    message: Message
    attachment_ref: str | None = None
    #: the targets came from speech (or the map asked): check them against the account's devices
    validate_devices: bool = False


_TEXT_LIMITS = {
    "title": const.MAX_TITLE_CHARS,
    "url": const.MAX_URL_CHARS,
    "url_title": const.MAX_URL_TITLE_CHARS,
    "tags": const.MAX_TAGS_CHARS,
}
#: The fields that are whole numbers (the map gives them literally or as templates).
_NUMBERS = ("priority", "retry", "expire", "ttl", "timestamp")
#: The numbers of a notification that gives none (most do): read, never changed.
_NO_NUMBERS: Mapping[str, int | None] = dict.fromkeys(_NUMBERS)
_FIELD_WORDS = {"title": "title", "url": "link", "url_title": "link title", "tags": "tags"}


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_notification(
    spec: NotificationSpec, context: Mapping[str, Any], locale: str | None, *, intent_name: str = ""
) -> RenderedNotification:
    """Render one notification of the map; RenderError says in plain words what is wrong."""
    text: dict[str, str] = {}
    for key, field_ in spec.fields.items():
        text[key] = _field_text(field_, locale, context).strip()
    message = truncate(text.pop("message", ""), const.MAX_MESSAGE_CHARS)
    if not message:
        raise RenderError("the message came out empty")
    for key, limit in _TEXT_LIMITS.items():
        if len(text.get(key, "")) > limit:
            raise RenderError(f"the {_FIELD_WORDS[key]} is longer than Pushover allows ({limit} characters)")
    numbers = _NO_NUMBERS
    if spec.values or not text.keys().isdisjoint(_NUMBERS):  # most notifications give no number
        numbers = _numbers(spec, text, context)
    devices: list[str] = []
    for target in spec.targets:
        rendered = _field_text(target, locale, context)
        devices.extend(part.strip() for part in rendered.split(",") if part.strip())
    if not spec.validate_devices:
        for device in devices:
            if not const.DEVICE_NAME_RE.match(device):
                raise RenderError(f"{device[:40]!r} is not a device name Pushover accepts")
    tags = text.get("tags") or None
    if numbers["priority"] == const.EMERGENCY_PRIORITY and not tags:
        tags = default_alert_tag(intent_name or str(context.get("intent_name", "")))
    from .pushover.message import Message  # loaded by the first notification: a LaunchRequest sends none

    msg = Message(
        message=message,
        title=text.get("title") or None,
        devices=tuple(devices),
        sound=text.get("sound") or None,
        url=text.get("url") or None,
        url_title=text.get("url_title") or None,
        priority=numbers["priority"],
        retry=numbers["retry"],
        expire=numbers["expire"],
        ttl=numbers["ttl"],
        timestamp=numbers["timestamp"],
        html=bool(spec.values.get("html", False)),
        monospace=bool(spec.values.get("monospace", False)),
        callback=text.get("callback") or None,
        tags=tags,
    )
    return RenderedNotification(spec.notifier, msg, text.get("attachment") or None, spec.validate_devices)


def _field_text(field_: TemplateField, locale: str | None, context: Mapping[str, Any]) -> str:
    """A field's text for this request: its literal text when it has one for every locale, else rendered."""
    constant = field_.constant
    return field_.pick(locale).render(context) if constant is None else constant


def _numbers(spec: NotificationSpec, text: dict[str, str], context: Mapping[str, Any]) -> dict[str, int | None]:
    """The numbers the notification gives, checked; their rendered text is taken out of ``text``."""
    numbers: dict[str, int | None] = dict.fromkeys(_NUMBERS)
    given = [key for key in _NUMBERS if key in spec.values or key in text]
    for key in given:
        numbers[key] = _number(key, spec.values.get(key), text.pop(key, None), context)
    if given:
        _check_numbers(numbers, spec)
    return numbers


def _number(key: str, literal: Any, rendered: str | None, context: Mapping[str, Any]) -> int | None:
    if literal == "now" or (key == "timestamp" and rendered == "now"):
        return int(context.get("timestamp") or time.time())
    if isinstance(literal, int):
        return literal
    if rendered is None or rendered == "":
        return None
    try:
        return int(float(rendered)) if key == "timestamp" else int(rendered)
    except ValueError:
        raise RenderError(f"the {key} came out as {rendered[:20]!r}, not a whole number") from None


def _check_numbers(numbers: dict[str, int | None], spec: NotificationSpec) -> None:
    priority, retry, expire, ttl = numbers["priority"], numbers["retry"], numbers["expire"], numbers["ttl"]
    if priority is not None and not const.MIN_PRIORITY <= priority <= const.MAX_PRIORITY:
        raise RenderError(f"the priority must be between -2 and 2, not {priority}")
    if priority == const.EMERGENCY_PRIORITY:
        if retry is None or expire is None:
            raise RenderError("an emergency notification needs retry and expire")
        if ttl is not None:
            numbers["ttl"] = None
    if retry is not None and retry < const.MIN_RETRY_S:
        raise RenderError(f"retry must be at least {const.MIN_RETRY_S} seconds")
    if expire is not None and not 0 < expire <= const.MAX_EXPIRE_S:
        raise RenderError(f"expire must be at most {const.MAX_EXPIRE_S} seconds")
    if ttl is not None and ttl <= 0:
        numbers["ttl"] = None


def render_text(field_: TemplateField | None, context: Mapping[str, Any], locale: str | None) -> str:
    """Render a plain-text field (card title/content, prompts); empty when absent."""
    return field_.pick(locale).render(context).strip() if field_ else ""
