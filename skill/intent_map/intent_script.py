"""Home Assistant's current form: top-level ``intent_script: <Name>: {action, speech, reprompt, card}``.

An entry named by a skill's applicationId (``amzn1.ask.skill.…``) answers that skill's LaunchRequest.
"""

from __future__ import annotations

from .checker import Checker
from .ha_intent import read_entries
from .spec import IntentMap
from .yaml_reader import YMap


def load_intent_script(c: Checker, top: YMap, imap: IntentMap) -> None:
    """Read the entries under ``intent_script:`` into ``imap``."""
    imap.blocks_used.append("intent_script")
    scripts = c.expect_map(top["intent_script"], c.vpos(top, "intent_script"), "intent_script")
    read_entries(c, imap, scripts, "intent_script", "intent_script")
