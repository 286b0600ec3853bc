"""Amazon's rules for invocation names.

https://developer.amazon.com/docs/custom-skills/choose-the-invocation-name-for-a-custom-skill.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ..intent_map import FALLBACK_KEY

#: Invocation name requirements:
#: https://developer.amazon.com/docs/custom-skills/choose-the-invocation-name-for-a-custom-skill.html
LAUNCH_WORDS: Final[Mapping[str, frozenset[str]]] = {
    "en": frozenset({"ask", "begin", "do", "enable", "launch", "load", "open", "play", "resume", "run", "start",
                     "tell", "use"}),
    "de": frozenset({"aktiviere", "beginne", "frag", "frage", "lade", "öffne", "sag", "sage", "spiel", "spiele",
                     "starte"}),
}  # fmt: skip
LAUNCH_PHRASES: Final[Mapping[str, tuple[str, ...]]] = {"en": ("talk to",)}
WAKE_WORDS: Final = frozenset({"alexa", "amazon", "echo", "computer", "ziggy", "skill", "app"})
#: Two-word English names may not be an article or a preposition plus one word.
_FILLER_WORDS: Final = frozenset({"the", "a", "an", "for", "to", "of", "about", "up", "by", "at", "off", "with"})


def invocation_name_problems(name: str, locale: str) -> list[tuple[str, str]]:
    """What breaks Amazon's invocation name rules, as ``(severity, message)`` pairs."""
    found: list[tuple[str, str]] = []
    lang = locale.split("-")[0] if locale != FALLBACK_KEY else "en"
    where = f"invocation name {name!r}" + (f" ({locale})" if locale != FALLBACK_KEY else "")
    bad = sorted({c for c in name if not (c.isalpha() and c.islower()) and c not in " '’."})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        hint = "; spell numbers out" if any(c.isdigit() for c in bad) else ""
        found.append(
            ("error", f"{where}: use lowercase letters, spaces, apostrophes and periods only, not {shown}{hint}")
        )
    words = [w.strip(".'’") for w in name.lower().split()]
    words = [w for w in words if w]
    if len(words) < 2:
        if lang == "de":
            found.append(
                ("warning", f"{where} is one word; Amazon accepts that in German only for a real compound word")
            )
        else:
            found.append(("error", f"{where} must have at least two words"))
    elif len(words) == 2 and lang == "en" and _FILLER_WORDS & set(words):
        filler = next(w for w in words if w in _FILLER_WORDS)
        found.append(("error", f"{where}: a two-word name cannot contain {filler!r} (an article or preposition)"))
    launch = [w for w in words if w in LAUNCH_WORDS.get(lang, frozenset())]
    joined = " " + " ".join(words) + " "
    launch += [p for p in LAUNCH_PHRASES.get(lang, ()) if f" {p} " in joined]
    if launch:
        found.append(
            ("error", f"{where} contains the launch word {launch[0]!r}, which Alexa reads as part of the request")
        )
    wake = [w for w in words if w in WAKE_WORDS]
    if wake:
        found.append(("error", f"{where} contains the wake word {wake[0]!r}"))
    return found
