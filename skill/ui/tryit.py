""" "Try it" on the dashboard: one intent through the same skill the endpoint uses, dry unless asked to send."""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..alexa import build_request_envelope, build_skill, invoke
from ..recent import RecentRequest, RecentRequests
from ..reloader import Generation
from ..service import Service


@dataclass
class TryResult:
    """What the person would hear and what was (or would be) sent."""

    intent: str
    sent: bool
    speech: str
    reprompt: str
    session_ends: bool
    statuses: list[str]
    notifications: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def spoken_text(speech: dict[str, Any] | None) -> str:
    """The words of an outputSpeech object, markup removed."""
    if not speech:
        return ""
    text = speech.get("ssml") or speech.get("text") or ""
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def try_intent(
    generation: Generation,
    intent: str,
    slots: dict[str, str],
    *,
    locale: str,
    send: bool,
    recent: RecentRequests | None = None,
    show_slots: bool = False,
) -> TryResult:
    """Run ``intent`` with ``slots``; with ``send`` through the live service, else through a dry-run copy."""
    given = {name: value for name, value in slots.items() if value.strip()}
    if send:
        service, skill, own = generation.service, generation.skill, None
    else:
        own = Service(generation.intent_map, generation.service.settings, dry_run=True)
        service, skill = own, build_skill(own)
    envelope = build_request_envelope("IntentRequest", intent, given, locale=locale)
    start = time.perf_counter()
    try:
        result = invoke(skill, envelope)
    finally:
        if own is not None:
            own.close()
    ms = (time.perf_counter() - start) * 1000
    body = result.response.get("response", {})
    statuses = [str(o.status) for o in result.outcomes]
    outcome = TryResult(
        intent=intent,
        sent=send and not service.dry_run,
        speech=spoken_text(body.get("outputSpeech")),
        reprompt=spoken_text((body.get("reprompt") or {}).get("outputSpeech")),
        session_ends=bool(body.get("shouldEndSession", True)),
        statuses=statuses,
        notifications=[d.as_dict() for o in result.outcomes for d in o.deliveries],
    )
    if recent is not None:
        source = "try it (sent)" if outcome.sent else "try it (dry run)"
        ids = tuple(i for o in result.outcomes for i in o.request_ids)
        recent.add(
            RecentRequest(
                time.time(), source, "IntentRequest", intent, ",".join(statuses) or "-", 200, round(ms, 1), ids,
                given if show_slots else None,
            )
        )  # fmt: skip
    return outcome
