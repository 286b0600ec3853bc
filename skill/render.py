"""Sandboxed Jinja templates: checked once at load, compiled once, rendered per request with slot data.

Slot values only ever enter templates as *data* in the context; they are never
compiled, so a person who says "{{ 7*7 }}" gets those characters, not 49.

Jinja is imported only when a template that is not plain text is checked or first rendered: a
request whose words are all literal (a LaunchRequest of most maps) never loads it. A template
from the pre-validated map of the Lambda bundle (skill/bundle.py) was checked at build time and
is compiled on its first render.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from . import const
from .errors import RenderError
from .intent_map.spec import NotificationSpec, TemplateField
from .pushover import Message

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment


def _finalize(value: Any) -> Any:
    return "" if value is None else value


class _SSMLText(str):
    """Text already escaped for SSML: autoescape leaves it as it is."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def _speech_finalizer(*, quote: bool) -> Any:
    def finalize(value: Any) -> Any:
        """Every value that reaches speech is escaped here, even inside ``{% autoescape false %}``.

        Only a value that is markup by construction (``speaker_name``, or what autoescape joined
        from escaped parts) keeps its tags; nothing a person said can become one.
        """
        if hasattr(value, "__html__"):
            return value
        text = escape_ssml(str(_finalize(value)))
        return _SSMLText(text.replace('"', "&quot;").replace("'", "&#x27;") if quote else text)

    return finalize


@cache
def _blank() -> type[jinja2.Undefined]:
    import jinja2

    class Blank(jinja2.ChainableUndefined):
        """An unknown name renders as nothing, and never as "None"."""

        __slots__ = ()

        def __str__(self) -> str:
            return ""

    return Blank


@cache
def _env(kind: str) -> ImmutableSandboxedEnvironment:
    """The Jinja environment of one kind of template (``_ENV_KINDS``), made on first use."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    autoescape, quote = _ENV_KINDS[kind]
    env = ImmutableSandboxedEnvironment(
        undefined=_blank(),
        autoescape=autoescape,
        finalize=_speech_finalizer(quote=quote) if autoescape else _finalize,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Nothing in a notification needs a way to reach functions through objects.
    for name in ("cycler", "joiner", "lipsum"):
        env.globals.pop(name, None)
    if autoescape:  # `|safe` would let a slot value through as markup
        env.filters.pop("safe", None)
    return env


#: kind -> (autoescape, quote). "ssml": SSML speech: the template's own markup stays, values from the
#: context are escaped (quotes too: a value may stand inside an attribute). "speech": plain speech:
#: its own text is escaped when compiled, values as they render.
_ENV_KINDS = {"text": (False, False), "ssml": (True, True), "speech": (True, False)}

#: Who is speaking and where (skill.people): every template may use these.
PEOPLE_NAMES = frozenset({"speaker", "speaker_name", "room", "person_id", "device_id"})
#: Names every template may use besides the slots.
CONTEXT_NAMES = frozenset({"intent_name", "locale", "now", "timestamp"}) | PEOPLE_NAMES
#: Extra names speech, reprompt and card templates may use: what was sent.
SPEECH_NAMES = frozenset(
    {"message", "title", "devices", "priority", "retry", "expire", "receipt", "canceled", "notifications"}
)


@dataclass(frozen=True)
class Template:
    """A checked template and the names it reads; compiled at the check, or on its first render."""

    source: str
    variables: frozenset[str]
    literal: bool
    ssml: bool = False
    #: plain speech compiled to SSML: its own text escaped once, here, and values escaped as they render
    speech: bool = False
    _compiled: jinja2.Template | None = field(default=None, repr=False, compare=False)

    def render(self, context: Mapping[str, Any]) -> str:
        """Render with ``context``; a sandbox violation or runtime error becomes RenderError."""
        if self.literal:
            return self.source
        compiled = self._compiled
        if compiled is None:  # from the pre-validated map: checked at build time, compiled once here
            compiled, _ = _compile(self.source, ssml=self.ssml, speech=self.speech)
            object.__setattr__(self, "_compiled", compiled)
        try:
            # Only the names the template reads: Jinja copies the context it is given, twice.
            return compiled.render({name: context[name] for name in self.variables if name in context})
        except Exception as err:  # a template is user code: any failure is a render failure
            from jinja2.sandbox import SecurityError

            if isinstance(err, SecurityError):
                raise RenderError("a template tried something the sandbox does not allow") from err
            raise RenderError(f"a template failed: {type(err).__name__}") from err

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the compiled code (skill/bundle.py): it is compiled again on first render."""
        return {k: v for k, v in self.__dict__.items() if k != "_compiled"}


def _compile(source: str, *, ssml: bool, speech: bool) -> tuple[jinja2.Template, frozenset[str]]:
    """The compiled template and the names it reads; raises jinja2.TemplateSyntaxError with a line number."""
    import jinja2.meta
    import jinja2.nodes

    env = _env("ssml" if ssml else "speech" if speech else "text")
    ast = env.parse(source)
    variables = frozenset(jinja2.meta.find_undeclared_variables(ast))
    if speech:
        for node in ast.find_all(jinja2.nodes.TemplateData):
            node.data = escape_ssml(node.data)
    return env.from_string(ast), variables


def compile_template(source: str, *, ssml: bool = False, speech: bool = False) -> Template:
    """Check and compile ``source`` once; raises jinja2.TemplateSyntaxError with a line number.

    ``ssml``: speech written as SSML. ``speech``: plain-text speech; its text is escaped here, so
    that only ``speaker_name`` can put a tag into what Alexa says.
    """
    if not any(token in source for token in ("{{", "{%", "{#")):
        return Template(source, frozenset(), literal=True, ssml=ssml)
    as_speech = speech and not ssml
    compiled, variables = _compile(source, ssml=ssml, speech=as_speech)
    return Template(source, variables, literal=False, ssml=ssml, speech=as_speech, _compiled=compiled)


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
    context: dict[str, Any] = dict.fromkeys(PEOPLE_NAMES, "")
    context.update(names or {})
    context.update(
        intent_name=intent_name,
        locale=locale,
        now=dt.datetime.fromtimestamp(stamp, tz=dt.UTC),
        timestamp=int(stamp),
    )
    for name, default in (defaults or {}).items():
        context[slot_key(name)] = default
        context[slot_key(name) + "_Id"] = ""
    for name, slot in slots.items():
        key = slot_key(name)
        value = slot.value
        if value is None or value == "":
            value = (defaults or {}).get(name, "")
        context[key] = value
        context[key + "_Id"] = slot.id or ""
    return context


def default_alert_tag(intent_name: str) -> str:
    """The tag emergency alerts of an intent carry unless the map names one."""
    return "alexa-" + re.sub(r"[^A-Za-z0-9_-]", "-", intent_name).lower()


#: What XML 1.0 cannot carry at all (NUL and other controls, lone surrogates, U+FFFE/U+FFFF), escaped or not.
#: Written as the short list of what is left out: the negated set takes ~10 ms to compile at every cold start.
_NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_ssml(text: str) -> str:
    """Make plain text safe inside ``<speak>``."""
    # html.escape(text, quote=False), without importing html (and html.entities) at each cold start
    return _NOT_XML_RE.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_speech(template: Template, context: Mapping[str, Any]) -> str:
    """Render speech to SSML body text (without the ``<speak>`` wrapper)."""
    text = template.render(context)
    if template.speech:
        return _NOT_XML_RE.sub("", text.strip())
    if not template.ssml:
        return escape_ssml(text.strip())
    text = text.strip()
    if text.startswith("<speak>") and text.endswith("</speak>"):
        text = text[len("<speak>") : -len("</speak>")].strip()
    return _NOT_XML_RE.sub("", text)


_SSML_TOKEN_RE = re.compile(r"<[^<>]*>|&[#A-Za-z0-9]{1,10};|[^<&]+|[<&]")
_TAG_NAME_RE = re.compile(r"</?\s*([A-Za-z_][\w:.-]*)")
_ELLIPSIS = "…"
_LONGEST_WORD = 40


def cut_ssml(body: str, limit: int) -> str:
    """SSML of at most ``limit`` characters: cut between words, tags and entities whole, open tags closed.

    Speech quotes what was said; a 10 kB slot value must not make an answer Alexa refuses.
    """
    if len(body) <= limit:
        return body
    out: list[str] = []
    open_tags: list[str] = []
    size = 0

    def closing() -> int:
        return sum(len(name) + 3 for name in open_tags)

    for match in _SSML_TOKEN_RE.finditer(body):
        token = match.group()
        room = limit - len(_ELLIPSIS) - size - closing()
        name = _TAG_NAME_RE.match(token) if token.startswith("<") and len(token) > 1 else None
        if name is not None and token.startswith("</"):
            if open_tags and open_tags[-1] == name.group(1):
                open_tags.pop()
                out.append(token)
                size += len(token)
            continue
        if name is not None:
            cost = len(token) + (0 if token.endswith("/>") else len(name.group(1)) + 3)
            if cost > room:
                break
            out.append(token)
            size += len(token)
            if not token.endswith("/>"):
                open_tags.append(name.group(1))
            continue
        if token in ("<", "&") or (token.startswith("<") and name is None):  # stray, or a tag with no name
            token = escape_ssml(token)
        if len(token) <= room:
            out.append(token)
            size += len(token)
            continue
        if room > 0 and not token.startswith("&"):  # text: as many whole words as fit (a word too long is cut)
            part = token[:room]
            words = part.rsplit(None, 1)[0] if part[room - 1 :].strip() else part
            out.append(words if len(words) > room - _LONGEST_WORD else part)
        break
    return "".join(out) + _ELLIPSIS + "".join(f"</{name}>" for name in reversed(open_tags))


# --------------------------------------------------------------------------- notifications


@dataclass(frozen=True)
class RenderedNotification:
    """A notification rendered for one request, before devices are checked and the attachment is read."""

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
        text[key] = field_.pick(locale).render(context).strip()
    message = truncate(text.pop("message", ""), const.MAX_MESSAGE_CHARS)
    if not message:
        raise RenderError("the message came out empty")
    for key, limit in _TEXT_LIMITS.items():
        if len(text.get(key, "")) > limit:
            raise RenderError(f"the {_FIELD_WORDS[key]} is longer than Pushover allows ({limit} characters)")
    numbers: dict[str, int | None] = {}
    for key in ("priority", "retry", "expire", "ttl", "timestamp"):
        numbers[key] = _number(key, spec.values.get(key), text.pop(key, None), context)
    _check_numbers(numbers, spec)
    devices: list[str] = []
    for target in spec.targets:
        rendered = target.pick(locale).render(context)
        devices.extend(part.strip() for part in rendered.split(",") if part.strip())
    if not spec.validate_devices:
        for device in devices:
            if not const.DEVICE_NAME_RE.match(device):
                raise RenderError(f"{device[:40]!r} is not a device name Pushover accepts")
    tags = text.get("tags") or None
    if numbers["priority"] == const.EMERGENCY_PRIORITY and not tags:
        tags = default_alert_tag(intent_name or str(context.get("intent_name", "")))
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
