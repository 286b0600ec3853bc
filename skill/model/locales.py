"""Which locales a map has models for, which of its per-locale values serves one, and the file text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from .. import const
from ..intent_map import FALLBACK_KEY, LOCALE_RE, IntentMap

T = TypeVar("T")


def model_locales(imap: IntentMap) -> list[str]:
    """The locales to generate: the map's ``locales:``, else every full locale its keys name, else en-US."""
    if imap.locales:
        return list(dict.fromkeys(imap.locales))
    named = set(imap.invocation_names)
    for spec in imap.intents.values():
        named.update(spec.samples)
    found = sorted(key for key in named if LOCALE_RE.match(key) and "-" in key)
    return found or [const.DEFAULT_LOCALE]


def pick_key(values: Mapping[str, Any], locale: str) -> str | None:
    """The key that serves ``locale``: exact, then same language, then ``default``; never another language."""
    lang = locale.split("-")[0]
    for key in (locale, lang):
        if key in values:
            return key
    same_language = [key for key in values if key.split("-")[0] == lang]
    if same_language:
        return same_language[0]
    return FALLBACK_KEY if FALLBACK_KEY in values else None


def pick_strict(values: Mapping[str, T], locale: str) -> T | None:
    """The value for ``locale`` as :func:`pick_key` chooses it (a German model never gets English samples)."""
    key = pick_key(values, locale)
    return None if key is None else values[key]


def render_model(model: Mapping[str, Any]) -> str:
    """The file text: two-space indent, UTF-8 as is, newline at the end (diffs cleanly)."""
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"
