"""The intent map: YAML -> IntentMap, in every accepted form, with file:line:col problems.

Accepted forms (DESIGN.md, "Intent map"):

1. our own: top-level ``intents:`` with flat notification keys under ``notify:``;
2. Home Assistant's legacy ``alexa: intents:`` block, verbatim;
3. Home Assistant's ``intent_script:``.

Validation collects *every* problem before raising one ConfigError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jinja2
import yaml

from . import const
from .attachments import parse_host_entry
from .errors import ConfigError, Problem
from .render import CONTEXT_NAMES, SPEECH_NAMES, Template, compile_template, default_alert_tag, slot_key

LOCALE_RE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
FALLBACK_KEY = "default"

# --------------------------------------------------------------------------- YAML with positions


@dataclass(frozen=True)
class Pos:
    """A position in a file (1-based line and column)."""

    path: str
    line: int
    col: int


class YMap(dict):
    """A YAML mapping that remembers where it and each of its keys and values stand."""

    pos: Pos
    key_pos: dict[Any, Pos]
    value_pos: dict[Any, Pos]


class YList(list):
    """A YAML sequence that remembers where it and each item stand."""

    pos: Pos
    item_pos: list[Pos]


@dataclass(frozen=True)
class Tagged:
    """A value under a tag we do not interpret (``!secret``, ``!include``, …)."""

    tag: str
    value: Any


def _pos(path: str, node: yaml.Node) -> Pos:
    return Pos(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _make_loader(path: str, problems: list[Problem]) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> YMap:
        loader.flatten_mapping(node)
        result = YMap()
        result.pos = _pos(path, node)
        result.key_pos, result.value_pos = {}, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not _hashable(key):
                problems.append(Problem(path, *_lc(key_node), "a key must be a plain value"))
                continue
            if key in result:
                first = result.key_pos[key]
                problems.append(Problem(path, *_lc(key_node), f"duplicate key {key!r} (first at line {first.line})"))
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_pos[key] = _pos(path, key_node)
            result.value_pos[key] = _value_pos(path, value_node)
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> YList:
        result = YList(loader.construct_object(child, deep=True) for child in node.value)
        result.pos = _pos(path, node)
        result.item_pos = [_pos(path, child) for child in node.value]
        return result

    def construct_tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = construct_sequence(loader, node)
        else:
            value = construct_mapping(loader, node)
        return Tagged("!" + suffix, value)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    Loader.add_multi_constructor("!", construct_tagged)
    return Loader


def _hashable(value: Any) -> bool:
    """False for a list, a mapping, ``!!set {a}`` or ``!tag {a: 1}``: no mapping can hold such a key."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _value_pos(path: str, node: yaml.Node) -> Pos:
    """Where a value's text starts: a block scalar (``|`` or ``>``) starts on the next line."""
    mark = node.start_mark
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        col = 1
        if isinstance(mark.buffer, str):
            start = mark.buffer.find("\n", mark.pointer) + 1
            line = mark.buffer[start:].split("\n", 1)[0]
            col = len(line) - len(line.lstrip(" ")) + 1
        return Pos(path, mark.line + 2, col)
    return _pos(path, node)


def _lc(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


# --------------------------------------------------------------------------- the model


@dataclass
class Localized:
    """A value given once, or per locale (``en-US``, ``de``, ``default``)."""

    values: dict[str, Any]

    def pick(self, locale: str | None) -> Any:
        """The value for ``locale``: exact, then same language, then the fallback, then the first."""
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


@dataclass
class NotifierSpec:
    """A named Pushover notifier: which environment variables hold its token and user key(s)."""

    name: str
    token_env: str
    user_env: str
    pos: Pos | None = None


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
    end_session: bool | None = None
    form: str = "native"

    def defaults(self) -> dict[str, str]:
        """Slot defaults by slot name."""
        return {name: slot.default for name, slot in self.slots.items() if slot.default is not None}

    @property
    def keeps_session_open(self) -> bool:
        """True when the skill listens after answering (a reprompt, unless told otherwise)."""
        if self.end_session is not None:
            return not self.end_session
        return self.reprompt is not None


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
    warnings: list[Problem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.intents)


# --------------------------------------------------------------------------- the loader

_NOTIFY_FIELDS_TEXT = ("message", "title", "sound", "url", "url_title", "callback", "tags", "attachment")
_NOTIFY_FIELDS_INT = ("priority", "retry", "expire", "ttl")
_NOTIFY_FIELDS_BOOL = ("html", "monospace")
_NOTIFY_KEYS = (
    {"notifier", "target", "validate_devices", "timestamp"}
    | set(_NOTIFY_FIELDS_TEXT)
    | set(_NOTIFY_FIELDS_INT)
    | set(_NOTIFY_FIELDS_BOOL)
)
_NOTIFY_ALIASES = {"device": "target", "devices": "target", "targets": "target"}
_LIMITS = {
    "message": const.MAX_MESSAGE_CHARS,
    "title": const.MAX_TITLE_CHARS,
    "url": const.MAX_URL_CHARS,
    "url_title": const.MAX_URL_TITLE_CHARS,
    "tags": const.MAX_TAGS_CHARS,
}
_INTENT_KEYS = {
    "notify", "speech", "reprompt", "card", "slots", "samples", "confirm",
    "cancel_alerts", "end_session", "description",
}  # fmt: skip
_HA_INTENT_KEYS = {"action", "speech", "reprompt", "card", "description", "async_action", "mode", "platforms"}
_TOP_KEYS = {
    "invocation_name", "launch", "help", "notifiers", "attachment_dirs", "attachment_hosts",
    "slot_types", "intents", "locales",
}  # fmt: skip
_HA_DATA_KEYS = {"message", "title", "target", "data"}
_ACTION_KEYS = {"action", "service", "data", "data_template", "target", "metadata", "enabled", "alias"}


class _Loader:
    """Turns the parsed YAML tree into an IntentMap, collecting problems as it goes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    # -- problem helpers

    def error(self, pos: Pos | None, message: str, code: str = "") -> None:
        pos = pos or Pos(self.path, 1, 1)
        self.problems.append(Problem(pos.path, pos.line, pos.col, message, "error", code))

    def warn(self, pos: Pos | None, message: str, code: str = "") -> None:
        pos = pos or Pos(self.path, 1, 1)
        self.problems.append(Problem(pos.path, pos.line, pos.col, message, "warning", code))

    @staticmethod
    def kpos(mapping: Any, key: Any) -> Pos | None:
        return getattr(mapping, "key_pos", {}).get(key) or getattr(mapping, "pos", None)

    @staticmethod
    def vpos(mapping: Any, key: Any) -> Pos | None:
        return getattr(mapping, "value_pos", {}).get(key) or getattr(mapping, "pos", None)

    def check_keys(self, mapping: YMap, allowed: set[str], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.error(self.kpos(mapping, key), f"unknown key {key!r} in {where}; expected one of: {expected}")

    def expect_map(self, value: Any, pos: Pos | None, what: str) -> YMap | None:
        if isinstance(value, Tagged):
            self.error(pos, f"{what}: YAML tag {value.tag} is not supported here")
            return None
        if not isinstance(value, dict):
            self.error(pos, f"{what} must be a mapping, not {_kind(value)}")
            return None
        return value  # type: ignore[return-value]

    def expect_list(self, value: Any, pos: Pos | None, what: str, *, allow_scalar: bool = False) -> YList | None:
        if isinstance(value, list):
            return value  # type: ignore[return-value]
        if allow_scalar and isinstance(value, str | int) and not isinstance(value, bool):
            one = YList([value])
            one.pos = pos or Pos(self.path, 1, 1)
            one.item_pos = [one.pos]
            return one
        self.error(pos, f"{what} must be a list, not {_kind(value)}")
        return None

    # -- templates

    def template(self, value: Any, pos: Pos | None, what: str, *, ssml: bool = False) -> Template | None:
        if isinstance(value, Tagged):
            hint = " (Home Assistant secrets go in environment variables here)" if value.tag == "!secret" else ""
            self.error(pos, f"{what}: YAML tag {value.tag} is not supported{hint}")
            return None
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            self.error(pos, f"{what} must be text, not {_kind(value)}")
            return None
        source = str(value)
        try:
            return compile_template(source, ssml=ssml)
        except jinja2.TemplateSyntaxError as err:
            line = (pos.line if pos else 1) + max((err.lineno or 1) - 1, 0)
            self.error(Pos(self.path, line, pos.col if pos else 1), f"{what}: template syntax error: {err.message}")
            return None
        except (RecursionError, SyntaxError):  # Jinja's parser, or Python compiling what Jinja generated
            self.error(pos, f"{what}: the template nests too deeply")
            return None

    def localized_template(self, value: Any, pos: Pos | None, what: str, *, ssml: bool = False) -> TemplateField | None:
        if isinstance(value, dict) and value and all(_is_locale_key(k) for k in value):
            templates: dict[str, Template] = {}
            for key, item in value.items():
                tmpl = self.template(item, self.vpos(value, key), f"{what} ({key})", ssml=ssml)
                if tmpl is not None:
                    templates[key] = tmpl
            return TemplateField(Localized(templates), pos or Pos(self.path, 1, 1)) if templates else None
        tmpl = self.template(value, pos, what, ssml=ssml)
        return TemplateField(Localized({FALLBACK_KEY: tmpl}), pos or Pos(self.path, 1, 1)) if tmpl else None

    def speech(self, value: Any, pos: Pos | None, what: str) -> SpeechSpec | None:
        if isinstance(value, dict) and value and all(_is_locale_key(k) for k in value):
            merged: dict[str, Template] = {}
            for key, item in value.items():
                one = self.speech(item, self.vpos(value, key), f"{what} ({key})")
                if one is not None:
                    merged[key] = one.text.pick(None)
            return SpeechSpec(TemplateField(Localized(merged), pos or Pos(self.path, 1, 1))) if merged else None
        if isinstance(value, dict):
            self.check_keys(value, {"type", "text"}, what)
            kind = value.get("type", "plain")
            if kind not in {"plain", "ssml"}:
                self.error(self.vpos(value, "type"), f"{what}: type must be plain or ssml, not {kind!r}")
                return None
            if "text" not in value:
                self.error(getattr(value, "pos", pos), f"{what} needs text")
                return None
            text = value["text"]
            if isinstance(text, dict) and text and all(_is_locale_key(k) for k in text):
                field_ = self.localized_template(text, self.vpos(value, "text"), what, ssml=kind == "ssml")
            else:
                tmpl = self.template(text, self.vpos(value, "text"), what, ssml=kind == "ssml")
                field_ = TemplateField(Localized({FALLBACK_KEY: tmpl}), pos) if tmpl else None  # type: ignore[arg-type]
            return SpeechSpec(field_) if field_ else None
        field_ = self.localized_template(value, pos, what)
        return SpeechSpec(field_) if field_ else None

    # -- top level

    def load(self, data: Any) -> IntentMap | None:
        if data is None:
            self.error(Pos(self.path, 1, 1), "the intent map is empty; expected `intents:` (see README)")
            return None
        top = self.expect_map(data, Pos(self.path, 1, 1), "the intent map")
        if top is None:
            return None
        if "intents" in top:
            form = "native"
        elif "alexa" in top or "intent_script" in top:
            form = "intent_script" if "intent_script" in top and "alexa" not in top else "alexa"
        else:
            self.error(top.pos, "no intents found: expected `intents:`, `alexa: intents:` or `intent_script:`")
            return None
        imap = IntentMap(self.path, form, {}, {})
        if form == "native":
            self.check_keys(top, _TOP_KEYS, "the intent map")
        else:
            for key in top:
                if key not in _TOP_KEYS | {"alexa", "intent_script"}:
                    self.warn(self.kpos(top, key), f"ignoring Home Assistant key {key!r} (only intents are used here)")
        self.load_globals(top, imap)
        if form == "native":
            intents = self.expect_map(top["intents"], self.vpos(top, "intents"), "intents")
            for name, body in (intents or {}).items():
                self.add_intent(imap, self.native_intent(name, body, intents))
        if "alexa" in top:
            alexa = self.expect_map(top["alexa"], self.vpos(top, "alexa"), "alexa")
            if alexa is not None:
                for key in alexa:
                    if key != "intents":
                        self.warn(self.kpos(alexa, key), f"ignoring alexa.{key} (only alexa.intents is used here)")
                if "intents" not in alexa:
                    self.error(alexa.pos, "alexa: needs an intents: block")
                intents = self.expect_map(alexa.get("intents") or YMap(), self.vpos(alexa, "intents"), "alexa.intents")
                for name, body in (intents or {}).items():
                    self.add_intent(imap, self.ha_intent(name, body, intents, "alexa"))
        if "intent_script" in top:
            scripts = self.expect_map(top["intent_script"], self.vpos(top, "intent_script"), "intent_script")
            for name, body in (scripts or {}).items():
                self.add_intent(imap, self.ha_intent(name, body, scripts, "intent_script"))
        if not imap.intents and not any(p.severity == "error" for p in self.problems):
            self.error(top.pos, "the intent map defines no intents")
        self.check_references(imap)
        return imap

    def add_intent(self, imap: IntentMap, spec: IntentSpec | None) -> None:
        if spec is None:
            return
        if spec.name in imap.intents:
            first = imap.intents[spec.name].pos
            self.error(spec.pos, f"intent {spec.name} is defined twice (first at line {first.line})")
            return
        imap.intents[spec.name] = spec

    def load_globals(self, top: YMap, imap: IntentMap) -> None:
        if "invocation_name" in top:
            value, pos = top["invocation_name"], self.vpos(top, "invocation_name")
            imap.invocation_pos = pos
            if isinstance(value, dict):
                for key, name in value.items():
                    if not _is_locale_key(key) or not isinstance(name, str):
                        self.error(self.kpos(value, key), "invocation_name per locale: `en-US: family notes`")
                    else:
                        imap.invocation_names[key] = name
                        imap.invocation_positions[key] = self.vpos(value, key) or pos
            elif isinstance(value, str):
                imap.invocation_names[FALLBACK_KEY] = value
                imap.invocation_positions[FALLBACK_KEY] = pos
            else:
                self.error(pos, f"invocation_name must be text, not {_kind(value)}")
        if "locales" in top:
            items = self.expect_list(top["locales"], self.vpos(top, "locales"), "locales", allow_scalar=True)
            for i, loc in enumerate(items or []):
                if not isinstance(loc, str) or not LOCALE_RE.match(loc) or "-" not in loc:
                    self.error(items.item_pos[i], f"locales: {loc!r} is not a locale such as en-US")  # type: ignore[union-attr]
                else:
                    imap.locales.append(loc)
        for key in ("launch", "help"):
            if key not in top:
                continue
            value, pos = top[key], self.vpos(top, key)
            if isinstance(value, dict) and ("speech" in value or "reprompt" in value):
                self.check_keys(value, {"speech", "reprompt"}, key)
                speech = (
                    self.speech(value["speech"], self.vpos(value, "speech"), f"{key}.speech")
                    if "speech" in value
                    else None
                )
                reprompt = (
                    self.speech(value["reprompt"], self.vpos(value, "reprompt"), f"{key}.reprompt")
                    if "reprompt" in value
                    else None
                )
            else:
                speech, reprompt = self.speech(value, pos, key), None
            if key == "launch":
                imap.launch, imap.launch_reprompt = speech, reprompt
            else:
                imap.help = speech
        if "notifiers" in top:
            notifiers = self.expect_map(top["notifiers"], self.vpos(top, "notifiers"), "notifiers")
            for name, body in (notifiers or {}).items():
                kpos = self.kpos(notifiers, name)
                body_map = self.expect_map(body, self.vpos(notifiers, name), f"notifier {name}")
                if body_map is None:
                    continue
                self.check_keys(body_map, {"token_env", "user_env"}, f"notifier {name}")
                envs = {}
                for key in ("token_env", "user_env"):
                    var = body_map.get(key)
                    if not isinstance(var, str) or not ENV_NAME_RE.match(var):
                        self.error(
                            self.vpos(body_map, key) if key in body_map else body_map.pos,
                            f"notifier {name}: {key} must name an environment variable, e.g. {name.upper()}_PUSHOVER_"
                            + ("TOKEN" if key == "token_env" else "USER"),
                        )
                    envs[key] = var
                if name in {const.DEFAULT_NOTIFIER, "notify.notify"}:
                    self.error(kpos, "notifier name 'notify' is the default notifier (PUSHOVER_TOKEN/PUSHOVER_USER)")
                    continue
                imap.notifiers[str(name)] = NotifierSpec(str(name), str(envs["token_env"]), str(envs["user_env"]), kpos)
        for key, target in (("attachment_dirs", imap.attachment_dirs), ("attachment_hosts", imap.attachment_hosts)):
            if key not in top:
                continue
            items = self.expect_list(top[key], self.vpos(top, key), key, allow_scalar=True)
            for i, item in enumerate(items or []):
                if not isinstance(item, str) or not item.strip():
                    self.error(items.item_pos[i], f"{key}: each entry must be text")  # type: ignore[union-attr]
                elif key == "attachment_dirs" and not os.path.isabs(os.path.expanduser(item)):
                    self.error(items.item_pos[i], f"attachment_dirs: {item!r} must be an absolute path")  # type: ignore[union-attr]
                elif key == "attachment_hosts" and not _is_host_entry(item):
                    self.error(items.item_pos[i], f"attachment_hosts: {item!r} is not a host name or host:port")  # type: ignore[union-attr]
                else:
                    target.append(os.path.expanduser(item) if key == "attachment_dirs" else item.strip().lower())
        if "slot_types" in top:
            types = self.expect_map(top["slot_types"], self.vpos(top, "slot_types"), "slot_types")
            for name, body in (types or {}).items():
                spec = self.slot_type(str(name), body, self.kpos(types, name), self.vpos(types, name))
                if spec:
                    imap.slot_types[spec.name] = spec

    def slot_type(self, name: str, body: Any, kpos: Pos | None, vpos: Pos | None) -> SlotTypeSpec | None:
        if name.startswith("AMAZON."):
            self.error(kpos, f"slot type {name}: AMAZON.* types are built in and cannot be declared")
            return None
        if isinstance(body, dict):
            self.check_keys(body, {"values"}, f"slot type {name}")
            raw, vpos = body.get("values"), self.vpos(body, "values")
        else:
            raw = body
        per_locale: dict[str, Any]
        if isinstance(raw, dict) and raw and all(_is_locale_key(k) for k in raw):
            per_locale = {k: (v, self.vpos(raw, k)) for k, v in raw.items()}
        else:
            per_locale = {FALLBACK_KEY: (raw, vpos)}
        values: dict[str, list[SlotTypeValue]] = {}
        for locale, (items, pos) in per_locale.items():
            seq = self.expect_list(items, pos, f"slot type {name} values")
            out: list[SlotTypeValue] = []
            for i, item in enumerate(seq or []):
                ipos = seq.item_pos[i]  # type: ignore[union-attr]
                if isinstance(item, str | int) and not isinstance(item, bool):
                    out.append(SlotTypeValue(str(item)))
                elif isinstance(item, dict):
                    self.check_keys(item, {"value", "id", "synonyms"}, f"slot type {name} value")
                    value = item.get("value")
                    if not isinstance(value, str | int) or isinstance(value, bool):
                        self.error(ipos, f"slot type {name}: each value needs `value:` text")
                        continue
                    syn = item.get("synonyms", [])
                    syn_list = self.expect_list(syn, self.vpos(item, "synonyms"), "synonyms", allow_scalar=True) or []
                    ident = item.get("id")
                    out.append(
                        SlotTypeValue(str(value), None if ident is None else str(ident), [str(s) for s in syn_list])
                    )
                else:
                    self.error(ipos, f"slot type {name}: a value is text or {{value, id, synonyms}}")
            if seq is not None and not out:
                self.error(pos, f"slot type {name} has no values")
            values[locale] = out
        return SlotTypeSpec(name, values, kpos or Pos(self.path, 1, 1)) if values else None

    # -- intents, our own form

    def intent_body(
        self, name: Any, body: Any, parent: YMap, allowed: set[str], form: str
    ) -> tuple[IntentSpec, YMap] | None:
        """The checks every form shares: a valid name, a mapping body with known keys."""
        kpos = self.kpos(parent, name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.error(kpos, f"intent name {name!r} must start with a letter and use letters, digits, _ and .")
            return None
        body_map = self.expect_map(body, self.vpos(parent, name), f"intent {name}")
        if body_map is None:
            return None
        where = f"intent {name}" if form == "native" else f"{form} intent {name}"
        self.check_keys(body_map, allowed, where)
        return IntentSpec(name, kpos or body_map.pos, form=form), body_map

    def native_intent(self, name: Any, body: Any, parent: YMap) -> IntentSpec | None:
        found = self.intent_body(name, body, parent, _INTENT_KEYS, "native")
        if found is None:
            return None
        spec, body_map = found
        if "slots" in body_map:
            spec.slots_declared = True
            slots = self.expect_map(body_map["slots"], self.vpos(body_map, "slots"), f"{name}.slots")
            for slot_name, slot_body in (slots or {}).items():
                slot = self.slot(name, slot_name, slot_body, slots)
                if slot:
                    spec.slots[slot.name] = slot
        if "samples" in body_map:
            spec.samples_pos = self.vpos(body_map, "samples")
            raw = body_map["samples"]
            if isinstance(raw, dict) and all(_is_locale_key(k) for k in raw):
                items = {k: (v, self.vpos(raw, k)) for k, v in raw.items()}
            else:
                items = {FALLBACK_KEY: (raw, spec.samples_pos)}
            for locale, (values, pos) in items.items():
                seq = self.expect_list(values, pos, f"{name}.samples", allow_scalar=True)
                if seq is None:
                    continue
                spec.samples[locale] = []
                for i, sample in enumerate(seq):
                    if not isinstance(sample, str) or not sample.strip():
                        self.error(seq.item_pos[i], f"{name}.samples: each sample must be text")
                    else:
                        spec.samples[locale].append(" ".join(sample.split()))
                        spec.sample_pos.setdefault(locale, []).append(seq.item_pos[i])
        if "notify" in body_map:
            raw, pos = body_map["notify"], self.vpos(body_map, "notify")
            items = raw if isinstance(raw, list) else [raw]
            item_pos = raw.item_pos if isinstance(raw, list) else [pos]
            for i, item in enumerate(items):
                item_map = self.expect_map(item, item_pos[i], f"{name}.notify")
                if item_map is not None:
                    spec.notifications.append(self.notification(name, item_map, flat=True))
        if "cancel_alerts" in body_map:
            spec.cancel = self.cancel(name, body_map["cancel_alerts"], self.vpos(body_map, "cancel_alerts"))
        if "confirm" in body_map:
            spec.confirm = self.localized_template(
                body_map["confirm"], self.vpos(body_map, "confirm"), f"{name}.confirm"
            )
        if "end_session" in body_map:
            if not isinstance(body_map["end_session"], bool):
                self.error(self.vpos(body_map, "end_session"), f"{name}.end_session must be true or false")
            else:
                spec.end_session = body_map["end_session"]
        self.responses(spec, body_map)
        return spec

    def slot(self, intent: str, name: Any, body: Any, parent: YMap) -> SlotSpec | None:
        kpos = self.kpos(parent, name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.error(kpos, f"{intent}: slot name {name!r} must start with a letter and use letters, digits, _ and .")
            return None
        slot = SlotSpec(name, pos=kpos)
        if body is None:
            return slot
        if isinstance(body, str):
            slot.type = body
            return slot
        body_map = self.expect_map(body, self.vpos(parent, name), f"{intent}.slots.{name}")
        if body_map is None:
            return None
        self.check_keys(body_map, {"type", "default", "required", "prompt"}, f"slot {intent}.{name}")
        if "type" in body_map:
            if not isinstance(body_map["type"], str):
                self.error(self.vpos(body_map, "type"), f"slot {intent}.{name}: type must be text")
            else:
                slot.type = body_map["type"]
        if "default" in body_map:
            default = body_map["default"]
            if isinstance(default, dict | list) or default is None:
                self.error(self.vpos(body_map, "default"), f"slot {intent}.{name}: default must be text")
            else:
                slot.default = str(default)
        if "required" in body_map:
            if not isinstance(body_map["required"], bool):
                self.error(self.vpos(body_map, "required"), f"slot {intent}.{name}: required must be true or false")
            else:
                slot.required = body_map["required"]
        if "prompt" in body_map:
            slot.prompt = self.localized_template(
                body_map["prompt"], self.vpos(body_map, "prompt"), f"{intent}.{name}.prompt"
            )
        return slot

    def cancel(self, intent: str, value: Any, pos: Pos | None) -> CancelSpec | None:
        notifier = const.DEFAULT_NOTIFIER
        if isinstance(value, dict):
            self.check_keys(value, {"tag", "intent", "notifier"}, f"{intent}.cancel_alerts")
            if ("tag" in value) == ("intent" in value):
                self.error(pos, f"{intent}.cancel_alerts needs exactly one of tag or intent")
                return None
            notifier = self.notifier_name(value.get("notifier", notifier), self.vpos(value, "notifier"))
            if "intent" in value:
                if not isinstance(value["intent"], str) or not NAME_RE.match(value["intent"]):
                    self.error(self.vpos(value, "intent"), f"{intent}.cancel_alerts.intent must be an intent name")
                    return None
                source, tpos = default_alert_tag(value["intent"]), self.vpos(value, "intent")
            else:
                source, tpos = value["tag"], self.vpos(value, "tag")
        elif isinstance(value, str):
            source, tpos = default_alert_tag(value), pos
        else:
            self.error(pos, f"{intent}.cancel_alerts must be an intent name or {{tag: …}}")
            return None
        tag = self.localized_template(source, tpos, f"{intent}.cancel_alerts.tag")
        return CancelSpec(tag, notifier, pos or Pos(self.path, 1, 1)) if tag else None

    def notifier_name(self, value: Any, pos: Pos | None) -> str:
        if not isinstance(value, str):
            self.error(pos, f"notifier must be text, not {_kind(value)}")
            return const.DEFAULT_NOTIFIER
        return value.removeprefix("notify.") or const.DEFAULT_NOTIFIER

    def responses(self, spec: IntentSpec, body: YMap) -> None:
        if "speech" in body:
            spec.speech = self.speech(body["speech"], self.vpos(body, "speech"), f"{spec.name}.speech")
        if "reprompt" in body:
            spec.reprompt = self.speech(body["reprompt"], self.vpos(body, "reprompt"), f"{spec.name}.reprompt")
        if "card" in body:
            card = self.expect_map(body["card"], self.vpos(body, "card"), f"{spec.name}.card")
            if card is not None:
                self.check_keys(card, {"type", "title", "content"}, f"{spec.name}.card")
                if card.get("type", "simple") != "simple":
                    self.error(self.vpos(card, "type"), f"{spec.name}.card: only type simple is supported")
                title = self.localized_template(
                    card.get("title", ""), self.vpos(card, "title"), f"{spec.name}.card.title"
                )
                content = self.localized_template(
                    card.get("content", ""), self.vpos(card, "content"), f"{spec.name}.card.content"
                )
                if title and content:
                    spec.card = CardSpec(title, content, card.pos)

    # -- notifications

    def notification(self, intent: str, body: YMap, *, flat: bool, extra: YMap | None = None) -> NotificationSpec:
        """One notification. ``flat``: our keys side by side; else HA's ``data`` (+ nested ``data``)."""
        where = f"{intent}.notify"
        spec = NotificationSpec(const.DEFAULT_NOTIFIER, {}, [], {}, False, body.pos)
        explicit_validate: bool | None = None
        sources: list[tuple[YMap, str]] = [(body, where)]
        if extra is not None:
            sources.append((extra, f"{where} data.data"))
        for mapping, label in sources:
            for key in list(mapping):
                canonical = _NOTIFY_ALIASES.get(key, key)
                kpos, vpos, value = self.kpos(mapping, key), self.vpos(mapping, key), mapping[key]
                if canonical not in _NOTIFY_KEYS or (not flat and canonical in {"notifier", "validate_devices"}):
                    allowed = ", ".join(sorted(_NOTIFY_KEYS if flat else _NOTIFY_KEYS - {"notifier"}))
                    self.error(kpos, f"unknown key {key!r} in {label}; expected one of: {allowed}")
                    continue
                if canonical in spec.value_pos:
                    self.error(kpos, f"{where}: {canonical} is given twice")
                    continue
                spec.value_pos[canonical] = vpos or body.pos
                if canonical == "notifier":
                    spec.notifier = self.notifier_name(value, vpos)
                elif canonical == "validate_devices":
                    if isinstance(value, bool):
                        explicit_validate = value
                    else:
                        self.error(vpos, f"{where}.validate_devices must be true or false")
                elif canonical == "target":
                    self.targets(spec, value, vpos, where)
                elif canonical in _NOTIFY_FIELDS_BOOL:
                    if isinstance(value, bool):
                        spec.values[canonical] = value
                    else:
                        self.error(vpos, f"{where}.{canonical} must be true or false, not {_kind(value)}")
                elif canonical in _NOTIFY_FIELDS_INT or canonical == "timestamp":
                    self.number_field(spec, canonical, value, vpos, where)
                else:
                    field_ = self.localized_template(value, vpos, f"{where}.{canonical}")
                    if field_:
                        spec.fields[canonical] = field_
                        self.check_literal_length(canonical, field_, where)
        if "message" not in spec.value_pos:
            self.error(body.pos, f"{where} needs a message")
        if explicit_validate is None:
            explicit_validate = any(not t.pick(None).literal for t in spec.targets)
        spec.validate_devices = explicit_validate
        self.check_priority(spec, where)
        sound = spec.fields.get("sound")
        if sound is not None:
            for tmpl in sound.templates.all():
                if tmpl.literal and tmpl.source not in const.BUILTIN_SOUNDS:
                    self.warn(
                        sound.pos,
                        f"{where}.sound: {tmpl.source!r} is not a built-in sound (fine if it is a custom sound "
                        "of your account; `check --online` asks Pushover)",
                        "custom-sound",
                    )
        return spec

    def targets(self, spec: NotificationSpec, value: Any, pos: Pos | None, where: str) -> None:
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",")] if "{" not in value else [value]
            positions = [pos] * len(items)
        elif isinstance(value, list):
            items, positions = list(value), list(value.item_pos)  # type: ignore[attr-defined]
        else:
            self.error(pos, f"{where}.target must be a device name or a list of them, not {_kind(value)}")
            return
        for item, ipos in zip(items, positions, strict=True):
            if not isinstance(item, str | int) or isinstance(item, bool):
                self.error(ipos, f"{where}.target: each device must be text")
                continue
            field_ = self.localized_template(str(item), ipos, f"{where}.target")
            if field_ is None:
                continue
            tmpl = field_.pick(None)
            if tmpl.literal and not const.DEVICE_NAME_RE.match(tmpl.source):
                self.error(
                    ipos,
                    f"{where}.target: {tmpl.source!r} is not a Pushover device name (1-25 letters, digits, _ or -)",
                )
                continue
            spec.targets.append(field_)

    def number_field(self, spec: NotificationSpec, key: str, value: Any, pos: Pos | None, where: str) -> None:
        if isinstance(value, bool) or value is None or isinstance(value, dict | list | float):
            self.error(pos, f"{where}.{key} must be a whole number, not {_kind(value)}")
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
            field_ = self.localized_template(text, pos, f"{where}.{key}")
            if field_:
                spec.fields[key] = field_
        else:
            self.error(pos, f"{where}.{key} must be a whole number, not {text!r}")

    def check_literal_length(self, key: str, field_: TemplateField, where: str) -> None:
        limit = _LIMITS.get(key)
        if limit is None:
            return
        for tmpl in field_.templates.all():
            if tmpl.literal and len(tmpl.source) > limit:
                self.error(field_.pos, f"{where}.{key} is {len(tmpl.source)} characters; Pushover allows {limit}")

    def check_priority(self, spec: NotificationSpec, where: str) -> None:
        values = spec.values

        def at(key: str) -> Pos:
            return spec.value_pos.get(key, spec.pos)

        priority = values.get("priority")
        if isinstance(priority, int) and not const.MIN_PRIORITY <= priority <= const.MAX_PRIORITY:
            self.error(at("priority"), f"{where}.priority must be between -2 and 2, not {priority}")
        retry, expire = values.get("retry"), values.get("expire")
        if isinstance(retry, int) and retry < const.MIN_RETRY_S:
            self.error(at("retry"), f"{where}.retry must be at least {const.MIN_RETRY_S} seconds, not {retry}")
        if isinstance(expire, int) and not 0 < expire <= const.MAX_EXPIRE_S:
            self.error(at("expire"), f"{where}.expire must be between 1 and {const.MAX_EXPIRE_S} seconds, not {expire}")
        if priority == const.EMERGENCY_PRIORITY:
            missing = [k for k in ("retry", "expire") if k not in spec.value_pos]
            if missing:
                self.error(at("priority"), f"{where}: priority 2 (emergency) needs {' and '.join(missing)}")
            if "ttl" in spec.value_pos:
                self.error(at("ttl"), f"{where}: ttl cannot be used with priority 2")
        ttl = values.get("ttl")
        if isinstance(ttl, int) and ttl <= 0:
            self.error(at("ttl"), f"{where}.ttl must be a positive number of seconds, not {ttl}")
        if values.get("html") and values.get("monospace"):
            self.error(at("monospace"), f"{where}: html and monospace cannot both be set")

    # -- Home Assistant forms

    def ha_intent(self, name: Any, body: Any, parent: YMap, form: str) -> IntentSpec | None:
        allowed = _HA_INTENT_KEYS if form == "intent_script" else _HA_INTENT_KEYS - {"reprompt", "mode", "platforms"}
        found = self.intent_body(name, body, parent, allowed, form)
        if found is None:
            return None
        spec, body_map = found
        # `async_action` only changes when Home Assistant answers; here the answer always waits for Pushover.
        if "action" in body_map:
            raw, pos = body_map["action"], self.vpos(body_map, "action")
            items = raw if isinstance(raw, list) else [raw]
            item_pos = raw.item_pos if isinstance(raw, list) else [pos]
            for i, item in enumerate(items):
                action = self.expect_map(item, item_pos[i], f"{name}.action")
                if action is not None:
                    self.ha_action(spec, action)
        self.responses(spec, body_map)
        return spec

    def ha_action(self, spec: IntentSpec, action: YMap) -> None:
        where = f"{spec.name}.action"
        self.check_keys(action, _ACTION_KEYS, where)
        key = "action" if "action" in action else "service" if "service" in action else None
        if key is None:
            self.error(action.pos, f"{where} needs `action: notify.<name>`")
            return
        name = action[key]
        if not isinstance(name, str) or not name.startswith("notify."):
            self.error(
                self.vpos(action, key),
                f"{where}: only notify actions can be run here, not {name!r} "
                "(use notify.notify or a declared notifier)",
            )
            return
        if action.get("enabled") is False:
            return
        data_key = "data" if "data" in action else "data_template" if "data_template" in action else None
        if data_key is None:
            self.error(action.pos, f"{where} needs data: with a message")
            return
        data = self.expect_map(action[data_key], self.vpos(action, data_key), f"{where}.{data_key}")
        if data is None:
            return
        self.check_keys(data, _HA_DATA_KEYS, f"{where}.{data_key}")
        flat = YMap({k: v for k, v in data.items() if k in _HA_DATA_KEYS - {"data"}})
        flat.pos, flat.key_pos, flat.value_pos = data.pos, data.key_pos, data.value_pos
        extra = None
        if "data" in data:
            extra = self.expect_map(data["data"], self.vpos(data, "data"), f"{where}.data.data")
        if "target" in action and "target" not in flat:
            flat["target"] = action["target"]
            flat.value_pos = {**flat.value_pos, "target": self.vpos(action, "target")}
        notification = self.notification(spec.name, flat, flat=False, extra=extra)
        notification.notifier = self.notifier_name(name, self.vpos(action, key))
        spec.notifications.append(notification)

    # -- cross references

    def check_references(self, imap: IntentMap) -> None:
        for spec in imap.intents.values():
            for notification in spec.notifications:
                if notification.notifier != const.DEFAULT_NOTIFIER and notification.notifier not in imap.notifiers:
                    self.error(
                        notification.pos,
                        f"{spec.name}: notifier {notification.notifier!r} is not declared under notifiers: "
                        f"(add `notifiers: {{{notification.notifier}: {{token_env: …, user_env: …}}}}`)",
                    )
            if (
                spec.cancel
                and spec.cancel.notifier != const.DEFAULT_NOTIFIER
                and spec.cancel.notifier not in imap.notifiers
            ):
                self.error(spec.cancel.pos, f"{spec.name}: notifier {spec.cancel.notifier!r} is not declared")
            if not spec.notifications and not spec.cancel and spec.speech is None:
                self.warn(spec.pos, f"intent {spec.name} sends nothing and says nothing")
            for slot in spec.slots.values():
                if slot.type and not slot.type.startswith("AMAZON.") and slot.type not in imap.slot_types:
                    self.error(
                        slot.pos, f"slot {spec.name}.{slot.name}: type {slot.type!r} is not declared under slot_types"
                    )
            self.check_variables(spec)

    def check_variables(self, spec: IntentSpec) -> None:
        known = set(CONTEXT_NAMES)
        speech_known = known | SPEECH_NAMES
        declared = {slot_key(n) for n in spec.slots}
        declared |= {k + "_Id" for k in declared}
        for template, pos, in_speech in _templates_of(spec):
            for var in sorted(template.variables):
                if var in declared or var in known or (in_speech and var in speech_known):
                    continue
                base = var.removesuffix("_Id")
                if spec.slots_declared:
                    self.warn(
                        pos,
                        f"{spec.name}: template names {var!r}, which is neither a slot of the intent "
                        f"({', '.join(sorted(spec.slots)) or 'none declared'}) nor a known name",
                        "undeclared-slot",
                    )
                elif base not in spec.slots:
                    spec.slots[base] = SlotSpec(base, declared=False, pos=pos)
                declared |= {base, base + "_Id"}


def _templates_of(spec: IntentSpec) -> Iterator[tuple[Template, Pos, bool]]:
    for notification in spec.notifications:
        for field_ in [*notification.fields.values(), *notification.targets]:
            for tmpl in field_.templates.all():
                yield tmpl, field_.pos, False
    for speech in (spec.speech, spec.reprompt):
        if speech:
            for tmpl in speech.text.templates.all():
                yield tmpl, speech.text.pos, True
    if spec.card:
        for field_ in (spec.card.title, spec.card.content):
            for tmpl in field_.templates.all():
                yield tmpl, field_.pos, True
    if spec.confirm:
        for tmpl in spec.confirm.templates.all():
            yield tmpl, spec.confirm.pos, False
    if spec.cancel:
        for tmpl in spec.cancel.tag.templates.all():
            yield tmpl, spec.cancel.tag.pos, False
    for slot in spec.slots.values():
        if slot.prompt:
            for tmpl in slot.prompt.templates.all():
                yield tmpl, slot.prompt.pos, False


def _is_host_entry(entry: str) -> bool:
    try:
        parse_host_entry(entry)
    except ConfigError:
        return False
    return True


def _is_locale_key(key: Any) -> bool:
    return isinstance(key, str) and (key == FALLBACK_KEY or bool(LOCALE_RE.match(key)))


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Tagged):
        return f"a {value.tag} value"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"{type(value).__name__} {value!r}"[:60]


# --------------------------------------------------------------------------- entry points


def parse_intent_map(text: str, path: str = "<string>") -> IntentMap:
    """Parse and validate an intent map; raise ConfigError listing every problem."""
    problems: list[Problem] = []
    loader_cls = _make_loader(path, problems)
    try:
        data = yaml.load(text, Loader=loader_cls)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = err.problem or err.context or "invalid YAML"
        raise ConfigError([Problem(path, line, col, f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem(path, 1, 1, f"YAML error: {err}")]) from None
    except RecursionError:
        raise ConfigError([Problem(path, 1, 1, "the YAML nests too deeply")]) from None
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        # What PyYAML's constructors raise for a value that does not fit its tag: !!int abc, !!map [1].
        raise ConfigError([Problem(path, 1, 1, f"YAML error: a value does not fit its tag ({err!s:.80})")]) from None
    loader = _Loader(path)
    loader.problems.extend(problems)
    imap = loader.load(data)
    errors = [p for p in loader.problems if p.severity == "error"]
    if errors or imap is None:
        raise ConfigError(sorted(loader.problems, key=lambda p: (p.line, p.col)))
    imap.warnings = sorted(loader.problems, key=lambda p: (p.line, p.col))
    return imap


def load_intent_map(path: str | os.PathLike[str]) -> IntentMap:
    """Read and validate the intent map at ``path``."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError([Problem(name, 0, 0, "file not found (set INTENT_MAP or pass --intent-map)")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([Problem(name, 0, 0, f"cannot read the file: {err.__class__.__name__}")]) from None
    return parse_intent_map(text, name)
