"""The checks of an Alexa request that need no certificate: the skill id and the timestamp.

Imports nothing heavy: the Lambda handler checks the skill id with it, and skill.verify builds on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from .const import (
    MAX_EVENT_TIMESTAMP_SKEW_S,
    MAX_TIMESTAMP_SKEW_S,
)
from .errors import VerificationError

#: Request types that may be up to an hour old (skill events are delivered late).
EVENT_REQUEST_PREFIX: Final = "AlexaSkillEvent."

#: Anything echoed from the request into a refusal is cut to this length.
MAX_ECHO_CHARS: Final = 100


def clip(value: object) -> str:
    """Quote ``value`` on one line, cut to ``MAX_ECHO_CHARS``."""
    text = repr(str(value)[: MAX_ECHO_CHARS + 1])
    return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "…"


def get_in(data: object, *keys: str) -> object:
    """Walk nested dicts; None as soon as a level is missing or not a dict."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def check_application_id(envelope: dict, skill_id: str | None) -> None:
    """Refuse the envelope unless its application id is ``skill_id`` (no check when ``skill_id`` is unset).

    The id is ``context.System.application.applicationId``, or
    ``session.application.applicationId`` when the context has none.
    """
    if not skill_id:
        return
    app_id = get_in(envelope, "context", "System", "application", "applicationId")
    if app_id is None:
        app_id = get_in(envelope, "session", "application", "applicationId")
    if app_id is None:
        raise VerificationError("request has no applicationId")
    if app_id != skill_id:
        raise VerificationError(f"request is for another skill: applicationId {clip(app_id)}")


def check_timestamp(envelope: dict, now: float) -> float:
    """Refuse a request whose ``request.timestamp`` is missing, garbled or too far from ``now``.

    Returns the time (epoch s) until which a request with this timestamp is accepted.
    """
    raw = get_in(envelope, "request", "timestamp")
    if raw is None or raw == "":
        raise VerificationError("request.timestamp is missing")
    if not isinstance(raw, str) or len(raw) > 64:
        raise VerificationError(f"request.timestamp is not an ISO 8601 time: {clip(raw)}")
    try:
        stamp = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise VerificationError(f"request.timestamp is not an ISO 8601 time: {clip(raw)}") from None
    if stamp.tzinfo is None:
        raise VerificationError(f"request.timestamp has no time zone: {clip(raw)}")
    request_type = get_in(envelope, "request", "type")
    is_event = isinstance(request_type, str) and request_type.startswith(EVENT_REQUEST_PREFIX)
    limit = MAX_EVENT_TIMESTAMP_SKEW_S if is_event else MAX_TIMESTAMP_SKEW_S
    age = now - stamp.timestamp()
    if age > limit:
        raise VerificationError(f"request.timestamp is {age:.0f} s old (limit {limit} s)")
    if age < -limit:
        raise VerificationError(f"request.timestamp is {-age:.0f} s in the future (limit {limit} s)")
    return stamp.timestamp() + limit
