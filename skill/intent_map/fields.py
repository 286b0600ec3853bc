"""What every form shares: templates, speech, cards, and the name and keys of an intent's body."""

from __future__ import annotations

from typing import Any

import jinja2

from ..render import Template, compile_template
from .checker import Checker, is_locale_key, kind
from .keys import CARD_KEYS, SPEECH_KEYS
from .names import NAME_RULE, is_application_id, is_intent_name, is_session_end_name
from .spec import FALLBACK_KEY, CardSpec, IntentSpec, Localized, Pos, SpeechSpec, TemplateField
from .yaml_reader import Tagged, YMap


def template(
    c: Checker, value: Any, pos: Pos | None, what: str, *, ssml: bool = False, speech: bool = False
) -> Template | None:
    """``value`` compiled as a template; a problem for anything that is not text."""
    if isinstance(value, Tagged):
        hint = " (Home Assistant secrets go in environment variables here)" if value.tag == "!secret" else ""
        c.error(pos, f"{what}: YAML tag {value.tag} is not supported{hint}")
        return None
    strays = [k for k in value if not is_locale_key(k)] if isinstance(value, dict) else []
    if strays and len(strays) < len(value):  # e.g. `title:` indented under a per-locale text
        for key in strays:
            c.error(
                c.kpos(value, key),
                f"{what}: {key!r} is not a locale, but the other keys here are; "
                "if it belongs a level up, indent it less",
            )
        return None
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        c.error(pos, f"{what} must be text, not {kind(value)}")
        return None
    source = str(value)
    try:
        return compile_template(source, ssml=ssml, speech=speech)
    except jinja2.TemplateSyntaxError as err:
        line = (pos.line if pos else 1) + max((err.lineno or 1) - 1, 0)
        c.error(Pos(c.path, line, pos.col if pos else 1), f"{what}: template syntax error: {err.message}")
        return None
    except (RecursionError, SyntaxError):  # Jinja's parser, or Python compiling what Jinja generated
        c.error(pos, f"{what}: the template nests too deeply")
        return None


def localized_template(
    c: Checker, value: Any, pos: Pos | None, what: str, *, ssml: bool = False, speech: bool = False
) -> TemplateField | None:
    """A template given once or per locale."""
    if isinstance(value, dict) and value and all(is_locale_key(k) for k in value):
        templates: dict[str, Template] = {}
        for key, item in value.items():
            tmpl = template(c, item, c.vpos(value, key), f"{what} ({key})", ssml=ssml, speech=speech)
            if tmpl is not None:
                templates[key] = tmpl
        return TemplateField(Localized(templates), pos or Pos(c.path, 1, 1)) if templates else None
    tmpl = template(c, value, pos, what, ssml=ssml, speech=speech)
    return TemplateField(Localized({FALLBACK_KEY: tmpl}), pos or Pos(c.path, 1, 1)) if tmpl else None


def read_speech(c: Checker, value: Any, pos: Pos | None, what: str) -> SpeechSpec | None:
    """Speech or reprompt: text, ``{type, text}``, or either per locale."""
    if isinstance(value, dict) and value and all(is_locale_key(k) for k in value):
        merged: dict[str, Template] = {}
        for key, item in value.items():
            one = read_speech(c, item, c.vpos(value, key), f"{what} ({key})")
            if one is not None:
                merged[key] = one.text.pick(None)
        return SpeechSpec(TemplateField(Localized(merged), pos or Pos(c.path, 1, 1))) if merged else None
    if isinstance(value, dict):
        c.check_keys(value, SPEECH_KEYS, what)
        kind = value.get("type", "plain")
        kind = "plain" if kind == "plaintext" else kind  # Home Assistant's older configs and tests
        if kind not in {"plain", "ssml"}:
            c.error(c.vpos(value, "type"), f"{what}: type must be plain or ssml, not {kind!r}")
            return None
        if "text" not in value:
            c.error(getattr(value, "pos", pos), f"{what} needs text")
            return None
        text = value["text"]
        if isinstance(text, dict) and text and all(is_locale_key(k) for k in text):
            field_ = localized_template(c, text, c.vpos(value, "text"), what, ssml=kind == "ssml", speech=True)
        else:
            tmpl = template(c, text, c.vpos(value, "text"), what, ssml=kind == "ssml", speech=True)
            field_ = TemplateField(Localized({FALLBACK_KEY: tmpl}), pos) if tmpl else None  # type: ignore[arg-type]
        return SpeechSpec(field_) if field_ else None
    field_ = localized_template(c, value, pos, what, speech=True)
    return SpeechSpec(field_) if field_ else None


def intent_body(
    c: Checker, name: Any, body: Any, parent: YMap, allowed: set[str], form: str
) -> tuple[IntentSpec, YMap] | None:
    """The checks every form shares: a valid name, a mapping body with known keys."""
    kpos = c.kpos(parent, name)
    if not is_intent_name(name) and not is_application_id(name) and not is_session_end_name(name):
        c.error(kpos, f"intent name {name!r} {NAME_RULE}")
        return None
    body_map = c.expect_map(body, c.vpos(parent, name), f"intent {name}")
    if body_map is None:
        return None
    where = f"intent {name}" if form == "native" else f"{form} intent {name}"
    c.check_keys(body_map, allowed, where)
    return IntentSpec(name, kpos or body_map.pos, form=form), body_map


def responses(c: Checker, spec: IntentSpec, body: YMap) -> None:
    """What an intent says and shows: speech, reprompt, card."""
    if "speech" in body:
        spec.speech = read_speech(c, body["speech"], c.vpos(body, "speech"), f"{spec.name}.speech")
    if "reprompt" in body:
        spec.reprompt = read_speech(c, body["reprompt"], c.vpos(body, "reprompt"), f"{spec.name}.reprompt")
    if "card" in body:
        card = c.expect_map(body["card"], c.vpos(body, "card"), f"{spec.name}.card")
        if card is not None:
            c.check_keys(card, CARD_KEYS, f"{spec.name}.card")
            if card.get("type", "simple") != "simple":
                c.error(c.vpos(card, "type"), f"{spec.name}.card: only type simple is supported")
            title = localized_template(c, card.get("title", ""), c.vpos(card, "title"), f"{spec.name}.card.title")
            content = localized_template(
                c, card.get("content", ""), c.vpos(card, "content"), f"{spec.name}.card.content"
            )
            if title and content:
                spec.card = CardSpec(title, content, card.pos)
