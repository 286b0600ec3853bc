"""Which names the map accepts, in one place: intents, slots, and skills (launch answers, session ends).

These are the runtime rules: a name passes if Alexa can send it. Rules that only the
interaction model needs (Amazon's naming rules for custom intents, slots and slot types)
belong beside these, used by ``model`` and ``check``, so that a map the runtime serves is
never refused for a model it does not generate.
"""

from __future__ import annotations

import re
from typing import Any, Final

#: An intent or slot name the map may define: a letter, then letters, digits, ``_`` and ``.``.
NAME_RE: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.]*$")
NAME_RULE: Final = "must start with a letter and use letters, digits, _ and ."

#: An intent of Alexa's built-in intent library, e.g. ``AMAZON.PlaybackAction<object@MusicCreativeWork>``
#: or ``AMAZON.SearchAction<object@WeatherForecast[temperature]>``: Alexa sends the name as it is.
LIBRARY_INTENT_RE: Final = re.compile(r"^AMAZON\.[A-Za-z]+<[A-Za-z0-9_.@|,\[\]]+>$")

#: A skill's applicationId, old (``amzn1.echo-sdk-ams.app.…``) or new (``amzn1.ask.skill.…``).
#: An ``intent_script`` entry of that name answers the skill's LaunchRequest, as in Home Assistant.
APPLICATION_ID_RE: Final = re.compile(r"^amzn1\.(?:echo-sdk-ams\.app|ask\.skill)\.[A-Za-z0-9-]+$")


#: Home Assistant runs the entry ``<applicationId>.SessionEndedRequest`` when that skill's session ends.
SESSION_ENDED_SUFFIX: Final = ".SessionEndedRequest"


def is_session_end_name(name: Any) -> bool:
    """True for ``<applicationId>.SessionEndedRequest``: an entry run when that skill's session ends."""
    return (
        isinstance(name, str)
        and name.endswith(SESSION_ENDED_SUFFIX)
        and is_application_id(name.removesuffix(SESSION_ENDED_SUFFIX))
    )


def is_intent_name(name: Any) -> bool:
    """True for a name an IntentRequest can carry: ours, or one from the built-in intent library."""
    return isinstance(name, str) and bool(NAME_RE.match(name) or LIBRARY_INTENT_RE.match(name))


def is_slot_name(name: Any) -> bool:
    """True for a slot name the map may declare (built-in library slots have dots: ``object.byArtist.name``)."""
    return isinstance(name, str) and bool(NAME_RE.match(name))


def is_application_id(name: Any) -> bool:
    """True for a skill's applicationId (an ``intent_script`` entry so named is a launch answer)."""
    return isinstance(name, str) and bool(APPLICATION_ID_RE.match(name))


# --------------------------------------------------------------------------- Amazon's rules for the model

#: Custom intent, slot and slot type names in an interaction model: letters and underscores only
#: (https://developer.amazon.com/docs/custom-skills/create-intents-utterances-and-slots.html); names
#: under ``AMAZON.`` are Amazon's own. The runtime accepts more (see NAME_RE): only a generated model needs this.
MODEL_NAME_RE: Final = re.compile(r"^[A-Za-z_]+$")


def model_name_problem(kind: str, name: str) -> str | None:
    """Why Amazon's model build refuses ``name`` for a custom intent, slot or slot type, or None."""
    if name.startswith("AMAZON.") or MODEL_NAME_RE.match(name):
        return None
    bad = ", ".join(repr(c) for c in sorted({c for c in name if not (c.isascii() and c.isalpha()) and c != "_"}))
    hint = "; spell numbers out (Room2 -> RoomTwo)" if any(c.isdigit() for c in name) else ""
    return f"{kind} name {name!r}: Amazon's model build allows letters and underscores only, not {bad}{hint}"
