"""The intent map: YAML -> IntentMap, in every accepted form, with file:line:col problems.

Accepted forms (DESIGN.md, "Intent map"):

1. our own: top-level ``intents:`` with flat notification keys under ``notify:``;
2. Home Assistant's legacy ``alexa: intents:`` block, verbatim;
3. Home Assistant's ``intent_script:``.

Validation collects *every* problem before raising one ConfigError.

The parts: ``yaml_reader`` (YAML with positions), ``spec`` (the types the rest of the skill reads),
``checker`` (problems and expected shapes), ``fields`` and ``notification`` (what the forms share),
``native``, ``alexa_intents``, ``intent_script`` (one module a form), ``checks`` (the cross-checks)
and ``load`` (the entry points). ``parse_intent_map`` and ``load_intent_map`` are imported on first
use, so that importing ``spec`` (which ``render`` does) never imports ``render`` back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .names import NAME_RE
from .spec import (
    FALLBACK_KEY,
    LOCALE_RE,
    CancelSpec,
    CardSpec,
    EntryNote,
    IntentMap,
    IntentSpec,
    Localized,
    NotificationSpec,
    NotifierSpec,
    PersonSpec,
    Pos,
    SlotSpec,
    SlotTypeSpec,
    SlotTypeValue,
    SpeechSpec,
    TemplateField,
)

if TYPE_CHECKING:
    from .load import load_intent_map, parse_intent_map

_LAZY = frozenset({"load_intent_map", "parse_intent_map"})

__all__ = [
    "FALLBACK_KEY",
    "LOCALE_RE",
    "NAME_RE",
    "CancelSpec",
    "CardSpec",
    "EntryNote",
    "IntentMap",
    "IntentSpec",
    "Localized",
    "NotificationSpec",
    "NotifierSpec",
    "PersonSpec",
    "Pos",
    "SlotSpec",
    "SlotTypeSpec",
    "SlotTypeValue",
    "SpeechSpec",
    "TemplateField",
    "load_intent_map",
    "parse_intent_map",
]


def __getattr__(name: str) -> Any:
    """``parse_intent_map`` and ``load_intent_map``, from ``load`` on first use (PEP 562)."""
    if name in _LAZY:
        from . import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
