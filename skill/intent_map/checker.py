"""The Checker every form reads the YAML tree with: problems collected, positions looked up, shapes expected."""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from ..errors import Problem
from .spec import FALLBACK_KEY, LOCALE_RE, Pos
from .yaml_reader import Tagged, YList, YMap


class Checker:
    """Collects every problem of one file, so that one ConfigError can list them all."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def error(self, pos: Pos | None, message: str, code: str = "") -> None:
        """A problem that stops the map from loading."""
        pos = pos or Pos(self.path, 1, 1)
        self.problems.append(Problem(pos.path, pos.line, pos.col, message, "error", code))

    def warn(self, pos: Pos | None, message: str, code: str = "") -> None:
        """A problem worth saying that does not stop the map from loading."""
        pos = pos or Pos(self.path, 1, 1)
        self.problems.append(Problem(pos.path, pos.line, pos.col, message, "warning", code))

    @staticmethod
    def kpos(mapping: Any, key: Any) -> Pos | None:
        """Where ``key`` of ``mapping`` stands (else the mapping itself)."""
        return getattr(mapping, "key_pos", {}).get(key) or getattr(mapping, "pos", None)

    @staticmethod
    def vpos(mapping: Any, key: Any) -> Pos | None:
        """Where the value of ``key`` in ``mapping`` starts (else the mapping itself)."""
        return getattr(mapping, "value_pos", {}).get(key) or getattr(mapping, "pos", None)

    def check_keys(self, mapping: YMap, allowed: AbstractSet[str], where: str) -> None:
        """A problem for every key of ``mapping`` that is not in ``allowed``."""
        for key in mapping:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.error(self.kpos(mapping, key), f"unknown key {key!r} in {where}; expected one of: {expected}")

    def expect_map(self, value: Any, pos: Pos | None, what: str) -> YMap | None:
        """``value`` if it is a mapping; else a problem and None."""
        if isinstance(value, Tagged):
            self.error(pos, f"{what}: YAML tag {value.tag} is not supported here")
            return None
        if not isinstance(value, dict):
            self.error(pos, f"{what} must be a mapping, not {kind(value)}")
            return None
        return value  # type: ignore[return-value]

    def each_map(self, mapping: YMap, key: str, what: str) -> Iterator[YMap]:
        """The mapping under ``key``, or each mapping of the list there; a problem for anything else."""
        raw, pos = mapping[key], self.vpos(mapping, key)
        items = raw if isinstance(raw, list) else [raw]
        item_pos = raw.item_pos if isinstance(raw, list) else [pos]
        for item, ipos in zip(items, item_pos, strict=True):
            found = self.expect_map(item, ipos, what)
            if found is not None:
                yield found

    def expect_list(self, value: Any, pos: Pos | None, what: str, *, allow_scalar: bool = False) -> YList | None:
        """``value`` if it is a list (or, with ``allow_scalar``, one item made a list); else None."""
        if isinstance(value, list):
            return value  # type: ignore[return-value]
        if allow_scalar and isinstance(value, str | int) and not isinstance(value, bool):
            one = YList([value])
            one.pos = pos or Pos(self.path, 1, 1)
            one.item_pos = [one.pos]
            return one
        self.error(pos, f"{what} must be a list, not {kind(value)}")
        return None


def is_locale_key(key: Any) -> bool:
    """True for a key that names a locale (``en-US``, ``de``) or the fallback."""
    return isinstance(key, str) and (key == FALLBACK_KEY or bool(LOCALE_RE.match(key)))


def kind(value: Any) -> str:
    """What a value is, in words for a message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Tagged):
        return f"a {value.tag} value"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"{type(value).__name__} {value!r}"[:60]
