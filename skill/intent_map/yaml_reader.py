"""The position-keeping YAML reader: every mapping, key, value and item knows its line and column.

Duplicate keys and unhashable keys are collected as problems instead of being silently merged;
tags we do not interpret (``!secret``, ``!include``) come back as ``Tagged`` for the forms to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ConfigError, Problem
from .spec import Pos
from .yaml_words import explain


class YMap(dict):
    """A YAML mapping that remembers where it and each of its keys and values stand."""

    pos: Pos
    key_pos: dict[Any, Pos]
    value_pos: dict[Any, Pos]


class YList(list):
    """A YAML sequence that remembers where it and each item stand."""

    pos: Pos
    item_pos: list[Pos]


@dataclass(frozen=True)
class Tagged:
    """A value under a tag we do not interpret (``!secret``, ``!include``, …)."""

    tag: str
    value: Any


def _pos(path: str, node: yaml.Node) -> Pos:
    return Pos(path, node.start_mark.line + 1, node.start_mark.column + 1)


def _make_loader(path: str, problems: list[Problem]) -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> YMap:
        loader.flatten_mapping(node)
        result = YMap()
        result.pos = _pos(path, node)
        result.key_pos, result.value_pos = {}, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not _hashable(key):
                problems.append(Problem(path, *_lc(key_node), "a key must be a plain value"))
                continue
            if key in result:
                first = result.key_pos[key]
                problems.append(Problem(path, *_lc(key_node), f"duplicate key {key!r} (first at line {first.line})"))
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_pos[key] = _pos(path, key_node)
            result.value_pos[key] = _value_pos(path, value_node)
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> YList:
        result = YList(loader.construct_object(child, deep=True) for child in node.value)
        result.pos = _pos(path, node)
        result.item_pos = [_pos(path, child) for child in node.value]
        return result

    def construct_tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = construct_sequence(loader, node)
        else:
            value = construct_mapping(loader, node)
        return Tagged("!" + suffix, value)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    Loader.add_multi_constructor("!", construct_tagged)
    return Loader


def _hashable(value: Any) -> bool:
    """False for a list, a mapping, ``!!set {a}`` or ``!tag {a: 1}``: no mapping can hold such a key."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _value_pos(path: str, node: yaml.Node) -> Pos:
    """Where a value's text starts: a block scalar (``|`` or ``>``) starts on the next line."""
    mark = node.start_mark
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        col = 1
        if isinstance(mark.buffer, str):
            start = mark.buffer.find("\n", mark.pointer) + 1
            line = mark.buffer[start:].split("\n", 1)[0]
            col = len(line) - len(line.lstrip(" ")) + 1
        return Pos(path, mark.line + 2, col)
    return _pos(path, node)


def _lc(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_yaml(text: str, path: str) -> tuple[Any, list[Problem]]:
    """The YAML tree of ``text`` and the problems found while reading it; ConfigError if it cannot be read."""
    problems: list[Problem] = []
    loader_cls = _make_loader(path, problems)
    try:
        data = yaml.load(text, Loader=loader_cls)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigError([Problem(path, line, col, explain(err))]) from None
    except yaml.YAMLError as err:
        raise ConfigError([Problem(path, 1, 1, f"YAML error: {err}")]) from None
    except RecursionError:
        raise ConfigError([Problem(path, 1, 1, "the YAML nests too deeply")]) from None
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        # What PyYAML's constructors raise for a value that does not fit its tag: !!int abc, !!map [1].
        raise ConfigError([Problem(path, 1, 1, f"YAML error: a value does not fit its tag ({err!s:.80})")]) from None
    return data, problems
