"""Alexa request envelopes as JSON: checked on the way in, and built for ``simulate`` and tests.

:func:`parse_envelope` is what every host runs on a request body before the ASK SDK sees it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import Any

from . import const
from .errors import InvalidRequestError

#: Why Alexa ends a session (SessionEndedRequest.reason), and the types of its ``error``:
#: https://developer.amazon.com/docs/custom-skills/request-types-reference.html#sessionendedrequest
SESSION_END_REASONS: tuple[str, ...] = ("USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS")
SESSION_END_ERRORS: tuple[str, ...] = (
    "INVALID_RESPONSE", "DEVICE_COMMUNICATION_ERROR", "INTERNAL_SERVICE_ERROR", "ENDPOINT_TIMEOUT",
)  # fmt: skip


def _plain_ascii_json(body: object) -> bool:
    """True for a JSON text that cannot hold a lone surrogate nor a number json.loads let through.

    All ASCII and no ``\\u`` escape at all: then no surrogate can be in it (the usual Alexa request;
    checking it costs a fraction of turning the envelope back into JSON), and json.loads has already
    refused any number too long for text. One search for ``\\u`` is cheaper than two for ``\\ud`` and
    ``\\uD``; a body with any escape takes the full check.
    """
    if isinstance(body, bytes):
        return body.isascii() and b"\\u" not in body
    if isinstance(body, str):
        return body.isascii() and "\\u" not in body
    return False


def parse_envelope(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """The envelope as a dict, after checking it has the shape of an Alexa request."""
    if isinstance(body, bytes | str):
        try:
            envelope = json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidRequestError("the body is not valid JSON") from None
    else:
        envelope = dict(body)
    if not isinstance(envelope, dict):
        raise InvalidRequestError("the body is not a JSON object")
    if not _plain_ascii_json(body):
        try:  # JSON may escape a lone surrogate (\ud800); no text with one can be sent on or spoken
            json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError("the body holds text that is not valid Unicode") from None
        except ValueError:  # a number too long to turn back into text
            raise InvalidRequestError("the body holds a number that is too long") from None
    # "version" is left out by Home Assistant's test envelopes and some simulators; nothing depends on it.
    if not isinstance(envelope.get("version", ""), str):
        raise InvalidRequestError("not an Alexa request: version is not text")
    request = envelope.get("request")
    if not isinstance(request, dict):
        raise InvalidRequestError("not an Alexa request: no request object")
    for key in ("type", "requestId", "timestamp"):
        if not isinstance(request.get(key), str):
            raise InvalidRequestError(f"not an Alexa request: request.{key} is missing or not text")
    if "locale" in request and not isinstance(request["locale"], str):
        raise InvalidRequestError("request.locale is not text")
    context = envelope.get("context")
    if context is not None and not isinstance(context, dict):
        raise InvalidRequestError("context is not an object")
    if request["type"] == "IntentRequest":
        intent = request.get("intent")
        if not isinstance(intent, dict) or not isinstance(intent.get("name"), str):
            raise InvalidRequestError("an IntentRequest needs intent.name")
        slots = intent.get("slots")
        if slots is not None and (not isinstance(slots, dict) or not all(isinstance(s, dict) for s in slots.values())):
            raise InvalidRequestError("intent.slots must map names to objects")
    return envelope


# --------------------------------------------------------------------------- envelopes for simulate and tests


def build_request_envelope(
    request_type: str = "IntentRequest",
    intent: str | None = None,
    slots: Mapping[str, str | Mapping[str, Any]] | None = None,
    *,
    locale: str = "en-US",
    application_id: str = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
    dialog_state: str | None = None,
    confirmation: str = "NONE",
    new_session: bool = True,
    now: float | None = None,
    person_id: str | None = None,
    device_id: str = const.SIMULATED_DEVICE_ID,
    reason: str = "USER_INITIATED",
    error: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A request envelope shaped like Alexa's own (context.System, session, dialogState, resolutions).

    ``person_id``: a recognized voice (``context.System.person``, which Alexa leaves out otherwise).
    ``reason`` and ``error`` (``type``, ``message``): why a SessionEndedRequest's session ended.
    """
    import uuid  # (with platform, which it loads) not on the Lambda path

    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=dt.UTC)
    user_id = "amzn1.ask.account.SIMULATED"
    request: dict[str, Any] = {
        "type": request_type,
        "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
        "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "locale": locale,
    }
    if request_type == "IntentRequest":
        slot_objects: dict[str, Any] = {}
        for name, value in (slots or {}).items():
            slot_objects[name] = (
                {"name": name, **value} if isinstance(value, Mapping)
                else {"name": name, "value": value, "confirmationStatus": "NONE", "source": "USER"}
            )  # fmt: skip
        request["intent"] = {"name": intent, "confirmationStatus": confirmation, "slots": slot_objects}
        if dialog_state:
            request["dialogState"] = dialog_state
    elif request_type == "SessionEndedRequest":
        request["reason"] = reason
        if error is not None:
            request["error"] = dict(error)
    application = {"applicationId": application_id}
    system: dict[str, Any] = {
        "application": application,
        "user": {"userId": user_id},
        "device": {"deviceId": device_id, "supportedInterfaces": {}},
        "apiEndpoint": "https://api.amazonalexa.com",
    }
    if person_id:
        system["person"] = {"personId": person_id, "authenticationConfidenceLevel": {"level": 200}}
    return {
        "version": "1.0",
        "session": {
            "new": new_session,
            "sessionId": f"amzn1.echo-api.session.{uuid.uuid4()}",
            "application": application,
            "attributes": {},
            "user": {"userId": user_id},
        },
        "context": {"System": system},
        "request": request,
    }


def resolved_slot(name: str, spoken: str, canonical: str, ident: str | None = None) -> dict[str, Any]:
    """A slot object as Alexa sends it when entity resolution matched ``canonical``."""
    return {
        "name": name,
        "value": spoken,
        "confirmationStatus": "NONE",
        "source": "USER",
        "resolutions": {
            "resolutionsPerAuthority": [
                {
                    "authority": f"amzn1.er-authority.echo-sdk.SIMULATED.{name}",
                    "status": {"code": "ER_SUCCESS_MATCH"},
                    "values": [{"value": {"name": canonical, "id": ident or canonical}}],
                }
            ]
        },
    }
