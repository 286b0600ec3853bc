"""The intents about emergency alerts: cancel them by tag, and "did anyone acknowledge my alert?"."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .deadline import Deadline
from .errors import OutboxError, PushoverError, ReceiptError, RenderError
from .intent_map import IntentSpec
from .outcome import Outcome, Status, failure_outcome
from .phrases import phrase
from .render import render_text
from .ssml import escape_ssml as _escape

if TYPE_CHECKING:
    from .service import Service

#: The core's log lines keep the one name people filter on (``skill.service``), wherever the code lives.
logger = logging.getLogger("skill.service")


def cancel_alerts(
    service: Service, spec: IntentSpec, context: dict[str, Any], locale: str | None, deadline: Deadline
) -> Outcome:
    """Cancel the emergency alerts of the intent ``cancel_alerts`` names: at Pushover, and any still in the outbox."""
    assert spec.cancel is not None
    tag = render_text(spec.cancel.tag, context, locale)
    creds = service.credentials_for(spec.cancel.notifier)
    if creds is None or service.dry_run:
        if not service.dry_run:
            return Outcome(spec.name, Status.NOT_CONFIGURED, phrase(locale, "not_configured"))
        logger.debug("dry run: would cancel alerts tagged %r", tag)
        count = 0
    else:
        # An alert still waiting in the outbox has not reached Pushover: cancel it here too.
        waiting = _discard_queued(service, tag)
        try:
            cancel = lambda: service.client.cancel_by_tag(creds.token, tag)  # noqa: E731
            count = service.sender.in_time(cancel, deadline, "cancel by tag") + waiting
        except PushoverError as err:
            if not waiting:
                return failure_outcome(spec.name, err, locale)
            logger.warning("intent %s: cancel by tag failed at Pushover: %s", spec.name, err)
            count = waiting
    if service.receipts is not None and not service.dry_run:
        service.receipts.cancel_tagged(tag)
    speech_context = {**context, "canceled": count}
    speech = service.speak(spec.speech, speech_context, locale)
    if not speech:
        key = "canceled_none" if count == 0 else "canceled_one" if count == 1 else "canceled"
        speech = phrase(locale, key, count=count)
    if service.dry_run and spec.speech is None:
        speech = phrase(locale, "dry_run_cancel")
    return Outcome(spec.name, Status.CANCELED, speech, canceled=count, cancel_tag=tag)


def alert_status(
    service: Service, spec: IntentSpec, context: dict[str, Any], locale: str | None, deadline: Deadline
) -> Outcome:
    """ "Did anyone acknowledge my alert?": the newest alert of the intent ``alert_status`` names."""
    from .receipts.speech import status_context, status_sentence

    assert spec.alert_status is not None
    book = service.receipts
    if book is None:
        logger.warning("intent %s: no receipts are kept here (web service or RECEIPTS_TABLE)", spec.name)
        return Outcome(spec.name, Status.UNAVAILABLE, phrase(locale, "alert_status_unavailable"))
    try:
        receipt = book.latest(spec.alert_status, wait_s=deadline.remaining())
    except ReceiptError as err:
        logger.error("intent %s: cannot read the receipts: %s", spec.name, err)
        return Outcome(spec.name, Status.UNAVAILABLE, phrase(locale, "alert_status_unavailable"))
    now = book.clock()
    speech_context = {**context, **status_context(receipt, now, locale, book.zone)}
    speech = service.speak(spec.speech, speech_context, locale) or _escape(
        status_sentence(receipt, now, locale, book.zone)
    )
    outcome = Outcome(spec.name, Status.SPOKEN, speech, end_session=not spec.keeps_session_open)
    outcome.reprompt = service.speak(spec.reprompt, speech_context, locale) or None
    if spec.card:
        try:
            outcome.card = (
                render_text(spec.card.title, speech_context, locale),
                render_text(spec.card.content, speech_context, locale),
            )
        except RenderError as err:
            logger.warning("intent %s: card template failed: %s", spec.name, err)
    return outcome


def _discard_queued(service: Service, tag: str) -> int:
    if service.outbox is None:
        return 0
    try:
        return service.outbox.discard_tagged(tag)
    except OutboxError as err:
        logger.error("could not drop queued alerts tagged %s: %s", tag, err)
        return 0
