"""The answers to what Alexa sends on its own: LaunchRequest, help, stop and cancel, fallback, a session's end."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ReceiptError
from .intent_map.names import SESSION_ENDED_SUFFIX
from .outcome import Outcome, Status
from .phrases import join_words, phrase
from .render import build_context
from .ssml import escape_ssml

if TYPE_CHECKING:
    from .deadline import Deadline
    from .service import Service

#: The core's log lines keep the one name people filter on (``skill.service``), wherever the code lives.
logger = logging.getLogger("skill.service")


def launch(
    service: Service,
    locale: str | None,
    application_id: str | None = None,
    *,
    person_id: str | None = None,
    device_id: str | None = None,
) -> Outcome:
    """The greeting for "Alexa, open …": the skill's launch answer if the map has one, else ``launch:``.

    A launch answer (Home Assistant's ``intent_script`` entry named by the applicationId) runs like an
    intent and, as in Home Assistant, keeps the session open only with a reprompt. ``launch:`` always
    listens afterwards: a person who opened the skill by name is about to say what to send. Both may
    greet the speaker (``speaker_name``, ``room``).
    """
    speaker = service.people.identify(person_id, device_id)
    answer = service.intent_map.launch_answers.get(application_id or "")
    if answer is not None:
        return service.handle_spec(answer, {}, locale, None, speaker)
    context = build_context({}, locale=locale or "", names=speaker.template_names())
    speech = service.speak(service.intent_map.launch, context, locale) or phrase(locale, "launch")
    reprompt = service.speak(service.intent_map.launch_reprompt, context, locale) or phrase(locale, "launch_reprompt")
    speech = _open_alert_note(service, locale) + speech
    return Outcome("LaunchRequest", Status.LAUNCH, speech, reprompt, end_session=False)


def session_ended(
    service: Service,
    application_id: str | None,
    reason: str | None,
    error: Mapping[str, Any] | None,
    locale: str | None,
    *,
    person_id: str | None = None,
    device_id: str | None = None,
    deadline: Deadline | None = None,
) -> Outcome | None:
    """The map's ``<applicationId>.SessionEndedRequest`` entry, run as Home Assistant runs it when a session
    ends (templates see ``reason`` and ``error``); None when the map has none for this skill."""
    spec = service.intent_map.session_ends.get(f"{application_id}{SESSION_ENDED_SUFFIX}")
    if spec is None:
        return None
    speaker = service.people.identify(person_id, device_id)
    return service.handle_spec(
        spec, {}, locale, None, speaker, deadline, names={"reason": reason or "", "error": error}
    )


def _open_alert_note(service: Service, locale: str | None) -> str:
    """What the greeting says first while an alert repeats unacknowledged (``LAUNCH_OPEN_ALERTS=0``: never)."""
    if service.receipts is None or not service.settings.launch_open_alerts:
        return ""
    from .receipts.speech import launch_sentence

    try:
        alerts = service.receipts.open_alerts(refresh=True)
    except ReceiptError as err:
        logger.warning("launch: cannot read the open alerts: %s", err)
        return ""
    return escape_ssml(launch_sentence(alerts[0], locale, service.receipts.zone)) + " " if alerts else ""


def help_answer(service: Service, locale: str | None) -> Outcome:
    """What the skill can do, with examples from the map's samples."""
    context = build_context({}, locale=locale or "")
    speech = service.speak(service.intent_map.help, context, locale)
    if not speech:
        examples = sample_sentences(service, locale)
        speech = (
            phrase(locale, "help", examples=join_words(examples, locale))
            if examples
            else phrase(locale, "help_no_examples")
        )
    return Outcome("AMAZON.HelpIntent", Status.HELP, speech, phrase(locale, "help_reprompt"), end_session=False)


def goodbye(intent: str, locale: str | None) -> Outcome:
    """Stop, cancel."""
    return Outcome(intent, Status.GOODBYE, phrase(locale, "goodbye"))


def fallback(locale: str | None) -> Outcome:
    """Alexa heard nothing it could map."""
    return Outcome(
        "AMAZON.FallbackIntent", Status.FALLBACK, phrase(locale, "fallback"), phrase(locale, "help_reprompt"),
        end_session=False,
    )  # fmt: skip


def sample_sentences(service: Service, locale: str | None) -> list[str]:
    """Two things a person can say, preferring samples that need no slot value."""
    samples = []
    lang = (locale or "").split("-")[0]
    for spec in service.intent_map.intents.values():
        # The request's locale, else one of the same language (en-GB hears en-US samples), else
        # the samples for every locale; never another language's.
        same_language = [v for k, v in spec.samples.items() if k.split("-")[0] == lang]
        localized = spec.samples.get(locale or "") or next(iter(same_language), None) or spec.samples.get("default")
        samples.extend((localized or [])[:1])
    samples.sort(key=lambda s: "{" in s)
    return [re.sub(r"\{([^}]*)\}", lambda m: spoken_name(m.group(1)), s) for s in samples[:2]]


def spoken_name(name: str) -> str:
    """``LocateIntent`` -> "locate", ``Device.Name`` -> "device name"."""
    words = name.removesuffix("Intent").replace(".", " ").replace("_", " ")
    spaced = "".join(" " + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(words))
    return " ".join(spaced.split())
