"""Home Assistant's current form: top-level ``intent_script: <Name>: {action, speech, reprompt, card}``."""

from __future__ import annotations

from .checker import Checker
from .checks import add_intent
from .ha_intent import ha_intent
from .spec import IntentMap
from .yaml_reader import YMap


def load_intent_script(c: Checker, top: YMap, imap: IntentMap) -> None:
    """Read the entries under ``intent_script:`` into ``imap``."""
    scripts = c.expect_map(top["intent_script"], c.vpos(top, "intent_script"), "intent_script")
    for name, body in (scripts or {}).items():
        add_intent(c, imap, ha_intent(c, name, body, scripts, "intent_script"))
