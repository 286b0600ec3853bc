"""PyYAML's syntax errors, said in plain words: what is wrong with the line, and how to fix it."""

from __future__ import annotations

import yaml

_TAB = "a tab character: YAML indents with spaces only; replace the tabs with spaces"
_COLON = (
    "a ':' where YAML did not expect one: a key indented deeper than the line above it, a line above "
    "without its ':', or a value that contains ': ' (put such a value in quotes)"
)
_TEMPLATE = "a value that starts with '{' is read as a YAML mapping: put a template such as \"{{ User }}\" in quotes"


def explain(err: yaml.MarkedYAMLError) -> str:
    """One line for ``err``: plain words where the mistake is a common one, PyYAML's own text otherwise."""
    problem = err.problem or err.context or "invalid YAML"
    since = f" (it starts at line {err.context_mark.line + 1})" if err.context_mark else ""
    if problem.startswith("expected <block end>"):
        what = "list item ('- ')" if "<block sequence start>" in problem else "line"
        return (
            f"the indentation does not line up: this {what} is indented differently from the lines above it "
            f"at the same level{since}; give lines of one level the same number of spaces"
        )
    if problem == "mapping values are not allowed here":
        return _COLON
    if "'\\t'" in problem:
        return _TAB
    if problem == "found unhashable key":
        return _TEMPLATE
    if err.context == "while scanning a quoted scalar":
        return f"a quote is never closed{since}; close it with the same quote character"
    if err.context in {"while parsing a flow mapping", "while parsing a flow sequence"}:
        bracket = "{" if "mapping" in err.context else "["
        return f"a '{bracket}' is never closed, or a ',' is missing between its items{since}"
    if "<stream end>" in problem or "end of stream" in problem:
        return f"the file ends while a '[', '{{' or quote is still open{since}; close it"
    if problem == "could not find expected ':'":
        return "a key without its ':' (write `key: value`), or a quote left open"
    if problem.startswith("found undefined alias"):
        return f"{problem[6:]}: a value that starts with '*' needs quotes"
    return f"YAML syntax error: {problem}"
