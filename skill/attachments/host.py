"""Hosts an attachment URL may name: the allowed-hosts entries, and a URL checked against them."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from ..errors import AttachmentError, ConfigError

_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_RE = re.compile(r"^[a-z0-9_.-]+$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

#: Said when a link cannot be used as it is written.
BAD_LINK: Final = "the link is not valid"


def normalize_host(raw: str) -> str | None:
    """The host as it is matched and sent (lowercase ASCII, IDNA-encoded), or None if invalid."""
    if not raw:
        return None
    if ":" in raw:
        if "%" in raw:  # IPv6 zone ids name an interface, not a host
            return None
        import ipaddress

        try:
            return str(ipaddress.IPv6Address(raw))
        except ValueError:
            return None
    if not raw.isascii():
        import idna

        try:
            raw = idna.encode(raw, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    host = raw.lower()
    return host if _HOST_RE.match(host) else None


def parse_host_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` from the allowed-hosts setting; ConfigError if it is none."""
    text = entry.strip()
    problem = ConfigError(f"allowed attachment host {entry!r} is not a host name or host:port")
    if not text or re.search(r"[\s/@?#\\]", text):
        raise problem
    if text.count(":") > 1 and not text.startswith("["):
        text = f"[{text}]"  # a bare IPv6 address
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        raise problem from None
    host = normalize_host(parts.hostname or "")
    if host is None or port == 0:
        raise problem
    return host, port


def checked_url(url: str, hosts: frozenset[tuple[str, int | None]]) -> str:
    """The URL to request, rebuilt from its checked parts; only ``hosts`` (parse_host_entry's) are allowed."""
    if _CONTROL_RE.search(url):
        raise AttachmentError(BAD_LINK)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AttachmentError(BAD_LINK) from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise AttachmentError("only http and https links can be attached")
    if "@" in parts.netloc:
        raise AttachmentError("the link must not contain a user name or password")
    host = normalize_host(parts.hostname or "")
    if host is None or port == 0:
        raise AttachmentError(BAD_LINK)
    if not hosts:
        raise AttachmentError("image links are not allowed; no hosts are configured")
    effective_port = port if port is not None else _DEFAULT_PORTS[parts.scheme]
    if (host, None) not in hosts and (host, effective_port) not in hosts:
        raise AttachmentError("the image host is not allowed")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
