"""To whom a notification goes: its notifier, or a person of ``people:`` named by ``to:`` (or ``me``).

What the service asks before it sends: each notification's route, the notification sent along it,
and what the person hears when ``to:`` names nobody the map knows.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .outcome import Outcome, Status
from .people import People, Refusal, Speaker, person_of, person_route
from .phrases import join_words, phrase
from .render import render_text
from .ssml import escape_ssml

if TYPE_CHECKING:
    from .intent_map import IntentSpec
    from .intent_map.spec import PersonSpec
    from .render import RenderedNotification

logger = logging.getLogger(__name__)


def routes(
    people: People, spec: IntentSpec, context: dict[str, Any], locale: str | None, speaker: Speaker
) -> list[str] | Outcome:
    """Each notification's route: its notifier, or ``person:<name>`` for ``to:``; an Outcome when one has nobody."""
    found_routes = []
    for notification in spec.notifications:
        if notification.to is None:
            found_routes.append(notification.notifier)
            continue
        found = people.recipient(render_text(notification.to, context, locale), speaker)
        if isinstance(found, Refusal):
            return nobody(people, spec.name, found, locale)
        found_routes.append(person_route(found.name))
    return found_routes


def routed(item: RenderedNotification, route: str, persons: Mapping[str, PersonSpec]) -> RenderedNotification:
    """A notification for a person goes through their route, to their devices unless it names its own."""
    name = person_of(route)
    if name is None:
        return item
    devices = item.message.devices or persons[name].devices
    return dataclasses.replace(item, notifier=route, message=dataclasses.replace(item.message, devices=devices))


def nobody(people: People, intent: str, refusal: Refusal, locale: str | None) -> Outcome:
    """Nothing is sent: say why, in words that tell how to fix it."""
    logger.info("intent %s: nothing sent: %s", intent, refusal.reason)
    if refusal.reason in {"voice_unknown", "voice_not_in_map"}:
        return Outcome(intent, Status.UNKNOWN_SPEAKER, phrase(locale, refusal.reason))
    names = escape_ssml(join_words(people.names(), locale))
    if refusal.reason == "person_missing":
        return Outcome(intent, Status.UNKNOWN_PERSON, phrase(locale, "person_missing", people=names))
    key = "person_unknown" if names else "person_unknown_nobody"
    return Outcome(intent, Status.UNKNOWN_PERSON, phrase(locale, key, name=escape_ssml(refusal.name), people=names))
