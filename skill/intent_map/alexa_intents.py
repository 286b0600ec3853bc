"""Home Assistant's ``alexa:`` block: legacy ``alexa: intents: <Name>: {action, speech, card}``, verbatim.

In a current ``configuration.yaml``, ``alexa:`` (empty, ``{}``, or with ``smart_home:`` or
``flash_briefings:``) only switches Home Assistant's Alexa endpoint on, and the intents are in
``intent_script:`` beside it: then there is nothing here to read.
"""

from __future__ import annotations

from .checker import Checker
from .ha_intent import read_entries
from .spec import IntentMap
from .yaml_reader import YMap

#: Parts of Home Assistant's ``alexa:`` for what this skill does not do: passed over without a warning.
OTHER_FEATURES = ("smart_home", "flash_briefings")


def load_alexa(c: Checker, top: YMap, imap: IntentMap) -> None:
    """Read the intents under ``alexa: intents:`` into ``imap``."""
    raw = top["alexa"]
    alexa = YMap() if raw is None else c.expect_map(raw, c.vpos(top, "alexa"), "alexa")
    if alexa is None:
        return
    for key in alexa:
        if key in OTHER_FEATURES:
            imap.blocks_ignored.append(f"alexa.{key}")
        elif key != "intents":
            c.warn(c.kpos(alexa, key), f"ignoring alexa.{key} (only alexa.intents is used here)")
            imap.blocks_ignored.append(f"alexa.{key}")
    if "intents" not in alexa:
        if "intent_script" in top:
            imap.blocks_used.append("alexa (switches the endpoint on)")
        else:
            c.error(c.kpos(top, "alexa"), "alexa: needs an intents: block")
        return
    imap.blocks_used.append("alexa.intents")
    intents = c.expect_map(alexa.get("intents") or YMap(), c.vpos(alexa, "intents"), "alexa.intents")
    read_entries(c, imap, intents, "alexa.intents", "alexa")
