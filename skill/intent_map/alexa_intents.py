"""Home Assistant's legacy form, verbatim: top-level ``alexa: intents: <Name>: {action, speech, card}``."""

from __future__ import annotations

from .checker import Checker
from .checks import add_intent
from .ha_intent import ha_intent
from .spec import IntentMap
from .yaml_reader import YMap


def load_alexa(c: Checker, top: YMap, imap: IntentMap) -> None:
    """Read the intents under ``alexa: intents:`` into ``imap``."""
    alexa = c.expect_map(top["alexa"], c.vpos(top, "alexa"), "alexa")
    if alexa is None:
        return
    for key in alexa:
        if key != "intents":
            c.warn(c.kpos(alexa, key), f"ignoring alexa.{key} (only alexa.intents is used here)")
    if "intents" not in alexa:
        c.error(alexa.pos, "alexa: needs an intents: block")
    intents = c.expect_map(alexa.get("intents") or YMap(), c.vpos(alexa, "intents"), "alexa.intents")
    for name, body in (intents or {}).items():
        add_intent(c, imap, ha_intent(c, name, body, intents, "alexa"))
