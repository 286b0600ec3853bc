"""Pushover's acknowledgement callback, without Flask: the URL we hand out and the form we accept.

Pushover does not sign callbacks, so the URL carries an unguessable per-installation secret
(kept in the receipt store's file). The form must be exactly what Pushover posts: ``receipt``,
``acknowledged``, ``acknowledged_at``, ``acknowledged_by``, ``acknowledged_by_device``, each
once, each in its shape and size; anything else is refused before it reaches the store.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from ..errors import InvalidRequestError, ReceiptError

if TYPE_CHECKING:
    from .book import ReceiptBook

logger = logging.getLogger(__name__)

#: Where the callback lives under ``PUBLIC_URL``; the secret follows.
CALLBACK_PATH: Final = "/pushover/callback/"
#: The largest form Pushover's fields can make (with room for percent-encoding).
MAX_CALLBACK_BYTES: Final = 1024
FORM_MIMETYPE: Final = "application/x-www-form-urlencoded"

_FIELDS: Final[dict[str, re.Pattern[str]]] = {
    "receipt": re.compile(r"^[A-Za-z0-9]{1,64}$"),
    "acknowledged": re.compile(r"^[01]$"),
    "acknowledged_at": re.compile(r"^[0-9]{1,12}$"),
    "acknowledged_by": re.compile(r"^[A-Za-z0-9]{0,30}$"),
    "acknowledged_by_device": re.compile(r"^[A-Za-z0-9_-]{0,25}$"),
}
_REQUIRED: Final = ("receipt", "acknowledged", "acknowledged_at")


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledgement as Pushover reported it; ``user_key`` is a secret and never shown."""

    receipt: str
    at: int
    user_key: str = field(repr=False)
    device: str | None


def callback_url(public_url: str, secret: str) -> str:
    """The URL emergency alerts carry as ``callback``."""
    return f"{public_url.rstrip('/')}{CALLBACK_PATH}{secret}"


def masked(secret: str) -> str:
    """Enough of the secret to tell two apart in a log, never enough to use."""
    return f"{secret[:4]}…" if len(secret) > 8 else "…"


def secret_matches(given: str, secret: str) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


def parse_callback(pairs: Iterable[tuple[str, str]]) -> Acknowledgement | None:
    """The acknowledgement in Pushover's form, or None for an ``acknowledged=0`` call.

    Raises InvalidRequestError (safe to log: it names fields, never values) for an unknown,
    repeated, missing or malformed field.
    """
    form: dict[str, str] = {}
    for name, value in pairs:
        if name not in _FIELDS:
            raise InvalidRequestError(f"unexpected field {name[:40]!r}")
        if name in form:
            raise InvalidRequestError(f"field {name!r} given twice")
        if not _FIELDS[name].match(value):
            raise InvalidRequestError(f"field {name!r} is not in Pushover's format")
        form[name] = value
    missing = [name for name in _REQUIRED if name not in form]
    if missing:
        raise InvalidRequestError(f"missing field(s): {', '.join(missing)}")
    if form["acknowledged"] != "1":
        return None
    return Acknowledgement(
        form["receipt"], int(form["acknowledged_at"]), form.get("acknowledged_by", ""),
        form.get("acknowledged_by_device") or None,
    )  # fmt: skip


@dataclass(frozen=True)
class CallbackAnswer:
    """The HTTP answer to one callback request; ``refusal`` (for the log) when nothing was recorded."""

    status: int
    body: dict[str, Any]
    refusal: str | None = None


def answer_callback(
    book: ReceiptBook | None, secret: str | None, given: str, mimetype: str, body: bytes | None
) -> CallbackAnswer:
    """Check and record one callback: 404 for a wrong secret or an unknown receipt, 413 for a body over
    ``MAX_CALLBACK_BYTES`` (``body`` None), 400 for anything not shaped like Pushover's form.
    """
    if book is None or secret is None or not secret_matches(given, secret):
        return CallbackAnswer(404, {"error": "not found"}, "a callback with a wrong secret; nothing recorded")
    if body is None:
        return CallbackAnswer(413, {"error": "the body is too large"}, f"a callback over {MAX_CALLBACK_BYTES} bytes")
    if mimetype != FORM_MIMETYPE:
        return CallbackAnswer(400, {"error": "not a Pushover callback"}, f"a callback that is not {FORM_MIMETYPE}")
    try:
        text = body.decode("utf-8")
        ack = parse_callback(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=10))
    except (InvalidRequestError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        return CallbackAnswer(400, {"error": "not a Pushover callback"}, f"a callback that is not Pushover's: {err}")
    if ack is None:
        return CallbackAnswer(200, {"status": "ignored"})
    try:
        recorded = book.acknowledge(ack)
    except ReceiptError as err:
        logger.error("cannot record the acknowledgement of alert %s: %s", ack.receipt, err)
        return CallbackAnswer(503, {"error": "cannot record it now"}, "the receipt store failed")
    if recorded is None:
        return CallbackAnswer(404, {"error": "not found"}, f"a callback for receipt {ack.receipt}, not one of ours")
    if recorded:
        logger.info("alert %s acknowledged on %s", ack.receipt, ack.device or "an unnamed device")
    return CallbackAnswer(200, {"status": "recorded" if recorded else "already recorded"})
