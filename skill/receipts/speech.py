"""What the status intent and the launch greeting say about an alert, and what their templates see."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError
from ..phrases import phrase
from .model import AlertState, Receipt

#: Locales that say "2:05 PM"; the others hear "14:05".
TWELVE_HOUR_LOCALES = frozenset({"en-US", "en-CA", "en-AU", "en-IN"})


def load_zone(name: str | None) -> dt.tzinfo | None:
    """The time zone named by ``TIMEZONE`` (IANA, e.g. ``Europe/Berlin``); None: the host's local time."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"TIMEZONE must name a time zone such as Europe/Berlin, not {name!r}") from err


def spoken_time(moment: float, locale: str | None, zone: dt.tzinfo | None) -> str:
    """A clock time as a person says it: "10:42" ("10:42 Uhr"), or "10:42 AM" where the locale uses a 12-hour clock."""
    when = dt.datetime.fromtimestamp(moment, tz=zone) if zone else dt.datetime.fromtimestamp(moment)
    if (locale or "") in TWELVE_HOUR_LOCALES:
        return f"{when.hour % 12 or 12}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"
    suffix = " Uhr" if (locale or "").startswith("de") else ""
    return f"{when.hour}:{when.minute:02d}{suffix}"


def spoken_duration(seconds: float, locale: str | None) -> str:
    """ "40 seconds", "one minute", "2 minutes", "3 hours" (rounded to the largest whole unit)."""
    seconds = max(0, round(seconds))
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size)
            return phrase(locale, f"duration_{unit}" if count == 1 else f"duration_{unit}s", n=count)
    return phrase(locale, "duration_second" if seconds == 1 else "duration_seconds", n=seconds)


def status_context(receipt: Receipt | None, now: float, locale: str | None, zone: dt.tzinfo | None) -> dict[str, Any]:
    """The variables a status template sees (all present, empty or False when there is no alert)."""
    if receipt is None:
        return {
            "alert": False, "acknowledged": False, "acknowledged_by": "", "acknowledged_device": "",
            "acknowledged_at": "", "sent_at": "", "expires_at": "", "expired": False, "cancelled": False,
            "cancelled_at": "", "retry": 0, "state": "none",
        }  # fmt: skip
    state = receipt.state(now)

    def at(moment: float | None) -> str:
        return spoken_time(moment, locale, zone) if moment is not None else ""

    return {
        "alert": True,
        "state": str(state),
        "acknowledged": state == AlertState.ACKNOWLEDGED,
        "acknowledged_by": receipt.acknowledged_by or "",
        "acknowledged_device": receipt.acknowledged_device or "",
        "acknowledged_at": at(receipt.acknowledged_at),
        "sent_at": at(receipt.sent_at),
        "expires_at": at(receipt.expires_at),
        "expired": state == AlertState.EXPIRED,
        "cancelled": state == AlertState.CANCELLED,
        "cancelled_at": at(receipt.cancelled_at),
        "retry": receipt.retry,
    }


def status_sentence(receipt: Receipt | None, now: float, locale: str | None, zone: dt.tzinfo | None) -> str:
    """The built-in answer to "did anyone acknowledge my alert?" (plain text)."""
    if receipt is None:
        return phrase(locale, "alert_none")
    sent = spoken_time(receipt.sent_at, locale, zone)
    state = receipt.state(now)
    if state == AlertState.ACKNOWLEDGED:
        assert receipt.acknowledged_at is not None
        after = spoken_duration(receipt.acknowledged_at - receipt.sent_at, locale)
        name, device = receipt.acknowledged_by, receipt.acknowledged_device
        if name:
            key = "alert_acknowledged_by" if device else "alert_acknowledged_by_nodevice"
        else:
            key = "alert_acknowledged_on" if device else "alert_acknowledged"
        return phrase(locale, key, name=name or "", device=device or "", sent=sent, after=after)
    if state == AlertState.CANCELLED:
        assert receipt.cancelled_at is not None
        return phrase(locale, "alert_cancelled", cancelled=spoken_time(receipt.cancelled_at, locale, zone))
    if state == AlertState.EXPIRED:
        return phrase(locale, "alert_expired", sent=sent)
    expires = spoken_time(receipt.expires_at, locale, zone)
    return phrase(locale, "alert_open", sent=sent, retry=receipt.retry, expires=expires)


def launch_sentence(receipt: Receipt, locale: str | None, zone: dt.tzinfo | None) -> str:
    """What the greeting adds while an alert is still open."""
    return phrase(locale, "launch_open_alert", sent=spoken_time(receipt.sent_at, locale, zone))
