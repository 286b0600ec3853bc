"""SSML text: plain text escaped for ``<speak>``, and speech cut to a length Alexa accepts."""

from __future__ import annotations

import re

#: What XML 1.0 cannot carry at all (NUL and other controls, lone surrogates, U+FFFE/U+FFFF), escaped or not.
#: Written as the short list of what is left out: the negated set takes ~10 ms to compile at every cold start.
NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape_markup(text: str, *, quote: bool = False) -> str:
    """``html.escape(text, quote)``, without importing html (and html.entities) at each cold start."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("'", "&#x27;") if quote else text


def escape_ssml(text: str, *, quote: bool = False) -> str:
    """Make plain text safe inside ``<speak>`` (``quote``: inside an attribute's quotes too)."""
    return escape_markup(NOT_XML_RE.sub("", text), quote=quote)


_SSML_TOKEN_RE = re.compile(r"<[^<>]*>|&[#A-Za-z0-9]{1,10};|[^<&]+|[<&]")
_TAG_NAME_RE = re.compile(r"</?\s*([A-Za-z_][\w:.-]*)")
_ELLIPSIS = "…"
_LONGEST_WORD = 40


def cut_ssml(body: str, limit: int) -> str:
    """SSML of at most ``limit`` characters: cut between words, tags and entities whole, open tags closed.

    Speech quotes what was said; a 10 kB slot value must not make an answer Alexa refuses.
    """
    if len(body) <= limit:
        return body
    out: list[str] = []
    open_tags: list[str] = []
    size = 0

    def closing() -> int:
        return sum(len(name) + 3 for name in open_tags)

    for match in _SSML_TOKEN_RE.finditer(body):
        token = match.group()
        room = limit - len(_ELLIPSIS) - size - closing()
        name = _TAG_NAME_RE.match(token) if token.startswith("<") and len(token) > 1 else None
        if name is not None and token.startswith("</"):
            if open_tags and open_tags[-1] == name.group(1):
                open_tags.pop()
                out.append(token)
                size += len(token)
            continue
        if name is not None:
            cost = len(token) + (0 if token.endswith("/>") else len(name.group(1)) + 3)
            if cost > room:
                break
            out.append(token)
            size += len(token)
            if not token.endswith("/>"):
                open_tags.append(name.group(1))
            continue
        if token in ("<", "&") or (token.startswith("<") and name is None):  # stray, or a tag with no name
            token = escape_ssml(token)
        if len(token) <= room:
            out.append(token)
            size += len(token)
            continue
        if room > 0 and not token.startswith("&"):  # text: as many whole words as fit (a word too long is cut)
            part = token[:room]
            words = part.rsplit(None, 1)[0] if part[room - 1 :].strip() else part
            out.append(words if len(words) > room - _LONGEST_WORD else part)
        break
    return "".join(out) + _ELLIPSIS + "".join(f"</{name}>" for name in reversed(open_tags))
