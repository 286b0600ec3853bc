"""The ASK SDK skill: handlers built from the intent map, and one way in for every host.

``build_skill()`` registers the handlers in one explicit order; ``invoke()`` runs a raw
request envelope through the skill and returns the response JSON. The web endpoint,
Lambda and ``simulate`` all go through ``invoke()``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ask_sdk_core.dispatch_components import AbstractExceptionHandler, AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_intent_name, is_request_type
from ask_sdk_model import IntentRequest, RequestEnvelope, Response
from ask_sdk_model.ui import SimpleCard

from . import const
from .builtin_answers import session_ended
from .deadline import Deadline
from .envelope import build_request_envelope, parse_envelope, resolved_slot
from .errors import InvalidRequestError
from .render import SlotValue, cut_ssml, truncate
from .service import Outcome, Service, Status

__all__ = ["Result", "build_request_envelope", "build_skill", "invoke", "parse_envelope", "resolved_slot", "respond"]

logger = logging.getLogger(__name__)

_serializer = DefaultSerializer()
_outcomes: contextvars.ContextVar[list[Outcome] | None] = contextvars.ContextVar("outcomes", default=None)
_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("deadline", default=None)

#: What fits between ``<speak>`` and ``</speak>``.
_MAX_SPEECH_BODY = const.MAX_SPEECH_CHARS - len("<speak></speak>")
_MAX_CARD_TITLE = 200

#: Intents Alexa sends on its own; the map may still take any of them over.
STOP_INTENTS = ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent")


def _locale(handler_input: HandlerInput) -> str | None:
    return getattr(handler_input.request_envelope.request, "locale", None)


def _record(outcome: Outcome) -> None:
    recorded = _outcomes.get()
    if recorded is not None:
        recorded.append(outcome)


def respond(handler_input: HandlerInput, outcome: Outcome) -> Response:
    """Turn an Outcome into the Alexa response: speech, reprompt, card, dialog directives."""
    _record(outcome)
    builder = handler_input.response_builder
    speech = cut_ssml(outcome.speech, _MAX_SPEECH_BODY)
    reprompt = cut_ssml(outcome.reprompt, _MAX_SPEECH_BODY) if outcome.reprompt else None
    if speech:
        builder.speak(speech)
    request = handler_input.request_envelope.request
    if outcome.status in (Status.ELICIT_SLOT, Status.CONFIRM):
        # The dialog models are many modules: loaded by the first dialog, not at every cold start.
        from ask_sdk_model.dialog import ConfirmIntentDirective, ElicitSlotDirective
    if outcome.status == Status.ELICIT_SLOT and isinstance(request, IntentRequest):
        builder.add_directive(ElicitSlotDirective(updated_intent=request.intent, slot_to_elicit=outcome.elicit_slot))
        builder.ask(reprompt or speech)
        return builder.response
    if outcome.status == Status.CONFIRM and isinstance(request, IntentRequest):
        builder.add_directive(ConfirmIntentDirective(updated_intent=request.intent))
        builder.ask(reprompt or speech)
        return builder.response
    if reprompt and not outcome.end_session:
        builder.ask(reprompt)
    if outcome.card and (outcome.card[0] or outcome.card[1]):
        title = truncate(outcome.card[0], _MAX_CARD_TITLE)  # title and content share Alexa's 8,000
        builder.set_card(
            SimpleCard(title=title, content=truncate(outcome.card[1], const.MAX_SPEECH_CHARS - len(title)))
        )
    builder.set_should_end_session(outcome.end_session)
    return builder.response


def _application_id(handler_input: HandlerInput) -> str | None:
    envelope = handler_input.request_envelope
    for holder in (getattr(envelope.context, "system", None), envelope.session):
        app_id = getattr(getattr(holder, "application", None), "application_id", None)
        if app_id:
            return app_id
    return None


def slots_of(request: IntentRequest) -> dict[str, SlotValue]:
    """Slot values as heard, with the canonical value when exactly one resolution matched.

    The id is the first match's, however many matched (as in Home Assistant): authorities are in
    Alexa's order of preference.
    """
    result: dict[str, SlotValue] = {}
    for name, slot in (request.intent.slots or {}).items():
        canonical = ident = None
        matches = []
        resolutions = getattr(slot, "resolutions", None)
        for authority in getattr(resolutions, "resolutions_per_authority", None) or []:
            code = getattr(getattr(authority, "status", None), "code", None)
            if getattr(code, "value", code) == "ER_SUCCESS_MATCH":
                matches.extend(v for v in authority.values or [] if v is not None)
        if matches and matches[0].value is not None:
            ident = matches[0].value.id
            canonical = matches[0].value.name if len(matches) == 1 else None
        result[name] = SlotValue(name, slot.value, canonical, ident)
    return result


def speaker_ids(handler_input: HandlerInput) -> dict[str, str | None]:
    """``context.System.person.personId`` (only with a recognized voice) and ``context.System.device.deviceId``."""
    system = getattr(handler_input.request_envelope.context, "system", None)
    return {
        "person_id": getattr(getattr(system, "person", None), "person_id", None),
        "device_id": getattr(getattr(system, "device", None), "device_id", None),
    }


class LaunchHandler(AbstractRequestHandler):
    """The greeting for "Alexa, open family notes"."""

    #: asked of every request (this handler comes first), so made once
    _is_launch = staticmethod(is_request_type("LaunchRequest"))

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return self._is_launch(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        outcome = self.service.launch(
            _locale(handler_input), _application_id(handler_input), **speaker_ids(handler_input)
        )
        return respond(handler_input, outcome)


class MappedIntentHandler(AbstractRequestHandler):
    """Every intent in the map, driven by data."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        request = handler_input.request_envelope.request
        return isinstance(request, IntentRequest) and request.intent.name in self.service.intent_map.intents

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        assert isinstance(request, IntentRequest)
        outcome = self.service.handle_intent(
            request.intent.name,
            slots_of(request),
            locale=request.locale,
            dialog_state=getattr(request.dialog_state, "value", None),
            confirmation=getattr(request.intent.confirmation_status, "value", None),
            **speaker_ids(handler_input),
            deadline=_deadline.get(),
        )
        return respond(handler_input, outcome)


class HelpHandler(AbstractRequestHandler):
    """AMAZON.HelpIntent."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("AMAZON.HelpIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return respond(handler_input, self.service.help(_locale(handler_input)))


class StopHandler(AbstractRequestHandler):
    """AMAZON.StopIntent, CancelIntent, NavigateHomeIntent: say goodbye and end the session."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return any(is_intent_name(name)(handler_input) for name in STOP_INTENTS)

    def handle(self, handler_input: HandlerInput) -> Response:
        name = handler_input.request_envelope.request.intent.name
        return respond(handler_input, self.service.goodbye(name, _locale(handler_input)))


class FallbackHandler(AbstractRequestHandler):
    """AMAZON.FallbackIntent."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("AMAZON.FallbackIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return respond(handler_input, self.service.fallback(_locale(handler_input)))


class UnknownIntentHandler(AbstractRequestHandler):
    """An intent the model has but the map does not: say so."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("IntentRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        outcome = self.service.handle_intent(request.intent.name, {}, locale=request.locale)
        return respond(handler_input, outcome)


class SessionEndedHandler(AbstractRequestHandler):
    """SessionEndedRequest: the map's ``<applicationId>.SessionEndedRequest`` entry runs, if it has one;
    the answer says nothing (Alexa speaks no answer to it)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("SessionEndedRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        reason = getattr(getattr(request, "reason", None), "value", None)
        logger.debug("session ended: %s", reason)
        error = getattr(request, "error", None)
        outcome = session_ended(
            self.service,
            _application_id(handler_input),
            reason,
            {"type": getattr(error.object_type, "value", None), "message": error.message} if error else None,
            getattr(request, "locale", None),
            **speaker_ids(handler_input),
            deadline=_deadline.get(),
        )
        if outcome is not None:
            _record(outcome)
        return handler_input.response_builder.response


class OtherRequestHandler(AbstractRequestHandler):
    """Anything else Alexa may send (skill events, CanFulfillIntentRequest, …): an empty answer."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.response


class CatchAllExceptionHandler(AbstractExceptionHandler):
    """Last resort: log with the traceback, speak safe words."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        logger.error("request failed: %s", type(exception).__name__, exc_info=exception)
        from .phrases import phrase

        outcome = Outcome("error", Status.FALLBACK, phrase(_locale(handler_input), "error"))
        return respond(handler_input, outcome)


def build_skill(service: Service) -> CustomSkill:
    """The ASK SDK skill for ``service``; handler order is the order of precedence."""
    builder = SkillBuilder()
    builder.add_request_handler(LaunchHandler(service))
    builder.add_request_handler(MappedIntentHandler(service))
    builder.add_request_handler(HelpHandler(service))
    builder.add_request_handler(StopHandler(service))
    builder.add_request_handler(FallbackHandler(service))
    builder.add_request_handler(UnknownIntentHandler(service))
    builder.add_request_handler(SessionEndedHandler(service))
    builder.add_request_handler(OtherRequestHandler())
    builder.add_exception_handler(CatchAllExceptionHandler(service))
    return builder.create()


# --------------------------------------------------------------------------- one way in


@dataclass
class Result:
    """The answer to one envelope, and what the skill did for it."""

    response: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)
    request_type: str = ""
    intent: str | None = None
    elapsed_ms: float = 0.0

    @property
    def outbox(self) -> str:
        """``queued`` when a notification of this request waits in the outbox for a retry, else ``-``."""
        return "queued" if any(d.outbox_id for o in self.outcomes for d in o.deliveries) else "-"


def invoke(
    skill: CustomSkill,
    envelope: Mapping[str, Any],
    *,
    log: bool = True,
    payload: bytes | str | None = None,
    deadline: Deadline | None = None,
) -> Result:
    """Run a parsed envelope through the skill; one INFO log line per request (``log=False``: the caller writes it).

    ``payload``, the raw JSON that ``envelope`` was parsed from, spares turning it back into JSON.
    ``deadline``: when the request's Pushover calls must be done; the host makes it when the request
    arrives (``Deadline.for_request``). Without one, the service allows ``Service.deadline_s`` from
    the moment it starts the intent.
    """
    start = time.perf_counter()
    request = envelope.get("request", {})
    request_type = str(request.get("type", ""))
    intent = request.get("intent", {}).get("name") if request_type == "IntentRequest" else None
    try:
        model = _serializer.deserialize(payload if payload is not None else json.dumps(envelope), RequestEnvelope)
    except Exception as err:  # the SDK raises several kinds for malformed envelopes
        raise InvalidRequestError(f"the envelope does not fit Alexa's request format ({type(err).__name__})") from err
    recorded: list[Outcome] = []
    token, deadline_token = _outcomes.set(recorded), _deadline.set(deadline)
    try:
        response = skill.invoke(request_envelope=model, context=None)
    finally:
        _deadline.reset(deadline_token)
        _outcomes.reset(token)
    result = Result(_serializer.serialize(response), recorded, request_type, intent)
    result.elapsed_ms = (time.perf_counter() - start) * 1000
    if not log or not logger.isEnabledFor(logging.INFO):  # its fields cost more than a disabled call
        return result
    status = ",".join(str(o.status) for o in recorded) or "-"
    ids = ",".join(i for o in recorded for i in o.request_ids) or "-"
    logger.info(
        "%s %s -> %s pushover=%s %.0f ms",
        request_type,
        intent or "-",
        status,
        ids,
        result.elapsed_ms,
        extra={
            "request_type": request_type, "intent": intent, "outcome": status, "pushover_request": ids,
            "ms": round(result.elapsed_ms, 1), "request_id": request.get("requestId"), "outbox": result.outbox,
        },
    )  # fmt: skip
    return result
