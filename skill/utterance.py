"""Sample utterances as Amazon's model build takes them: which characters, and what a sample must hold.

Amazon refuses a model whose samples hold anything but letters, spaces, periods (for abbreviations:
"a. m."), apostrophes, hyphens and underscores, outside the ``{Slot}`` references; numbers are
spelled out. Its build error reads: "Sample utterances can consist of only unicode characters,
spaces, periods for abbreviations, underscores, possessive apostrophes, and hyphens." A sample that is
nothing but a phrase slot (``{Text}`` of type AMAZON.SearchQuery) is refused too: "must include a
carrier phrase".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Final

#: ``{Slot}`` in a sample.
SLOT_REF_RE: Final = re.compile(r"\{([^{}]*)\}")
#: Punctuation Amazon takes inside a sample (letters and spaces aside).
ALLOWED_MARKS: Final = frozenset(".'’-_")
#: Slot types that hold a free phrase: a sample of only such slots needs words around them.
PHRASE_SLOT_TYPES: Final = frozenset({"AMAZON.SearchQuery"})


def sample_problems(sample: str, slot_types: Mapping[str, str | None]) -> list[str]:
    """What Amazon's model build refuses in ``sample``; ``slot_types`` maps each slot name to its type."""
    text = SLOT_REF_RE.sub(" ", sample)
    problems: list[str] = []
    digits = sorted({c for c in text if unicodedata.category(c).startswith("N")})
    if digits:
        problems.append(
            f"sample {sample!r}: spell numbers out ({digits[0]!r} as a word) or use an AMAZON.NUMBER slot; "
            "Amazon's model build refuses digits in samples"
        )
    others = sorted({c for c in text if not (_is_letter(c) or c.isspace() or c in ALLOWED_MARKS or c in digits)})
    if others:
        shown = ", ".join(repr(c) for c in others)
        problems.append(
            f"sample {sample!r}: Amazon's model build refuses {shown} in samples "
            "(letters, spaces, apostrophes, hyphens and periods of abbreviations such as 'a. m.' only)"
        )
    refs = SLOT_REF_RE.findall(sample)
    phrase = [ref for ref in refs if slot_types.get(ref) in PHRASE_SLOT_TYPES]
    if refs and phrase and not text.strip():
        problems.append(
            f"sample {sample!r} is only a slot of type {slot_types[phrase[0]]}; Amazon needs a carrier phrase "
            f"around it, e.g. 'send {{{phrase[0]}}}'"
        )
    return problems


def _is_letter(char: str) -> bool:
    """A letter, or a mark that belongs to one (the vowel signs of Devanagari, accents written apart)."""
    return unicodedata.category(char)[0] in "LM"
