"""The ``SignatureCertChainUrl`` rules: only Amazon's ``https://s3.amazonaws.com/echo.api/``, normalized.

See skill.verify for the decisions the spec leaves open (ASCII only, no query, dot segments, escapes).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

from .const import (
    ALEXA_CERT_HOST,
    ALEXA_CERT_PATH_PREFIX,
)
from .errors import VerificationError
from .request_check import clip

MAX_CERT_URL_CHARS: Final = 2048

_ESCAPED_SEPARATOR_RE: Final = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for an absolute path (or an empty one)."""
    segments = path.split("/")
    out: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(out) > 1:  # out[0] is the empty segment before the leading "/"
                out.pop()
            continue
        out.append(segment)
    if segments[-1] in {".", ".."}:
        out.append("")  # "/a/b/.." names the directory "/a/", not "/a"
    return "/".join(out)


def normalize_cert_url(url: str) -> str:
    """Return the URL to fetch for a valid ``SignatureCertChainUrl``; refuse any other."""
    if len(url) > MAX_CERT_URL_CHARS:
        raise VerificationError(f"certificate URL is longer than {MAX_CERT_URL_CHARS} characters")
    # urlsplit silently drops tabs and newlines; refuse them (and anything non-ASCII) instead.
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        raise VerificationError(f"certificate URL has characters a URL cannot have: {clip(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise VerificationError(f"certificate URL is malformed: {clip(url)}") from None
    if parts.scheme.lower() != "https":
        raise VerificationError(f"certificate URL must use https, not {clip(parts.scheme)}")
    if "@" in parts.netloc:
        raise VerificationError("certificate URL must not contain user info")
    if parts.hostname != ALEXA_CERT_HOST:  # .hostname is lower-cased
        raise VerificationError(f"certificate URL host must be {ALEXA_CERT_HOST}, not {clip(parts.hostname)}")
    if port not in (None, 443):
        raise VerificationError(f"certificate URL port must be 443, not {port}")
    if "?" in url or "#" in url:
        raise VerificationError("certificate URL must not have a query or fragment")
    if _ESCAPED_SEPARATOR_RE.search(parts.path):
        raise VerificationError("certificate URL path must not percent-encode '.', '/' or '\\'")
    path = _remove_dot_segments(parts.path)
    if not path.startswith(ALEXA_CERT_PATH_PREFIX):
        raise VerificationError(f"certificate URL path must start with {ALEXA_CERT_PATH_PREFIX}, not {clip(path)}")
    return f"https://{ALEXA_CERT_HOST}{path}"


def validate_cert_url(url: str) -> None:
    """Refuse a ``SignatureCertChainUrl`` that is not on Amazon's ``https://s3.amazonaws.com/echo.api/``."""
    normalize_cert_url(url)
