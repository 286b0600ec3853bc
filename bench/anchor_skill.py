"""The dispatch anchor: the smallest ask-sdk-core skill that answers a LocateIntent.

One handler, one ``speak``: what the ASK SDK costs by itself, invoked the way
``skill.alexa.invoke`` is (JSON -> RequestEnvelope -> ``skill.invoke`` -> JSON).
"""

from __future__ import annotations

import json

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_intent_name
from ask_sdk_model import RequestEnvelope, Response

serializer = DefaultSerializer()


class LocateHandler(AbstractRequestHandler):
    """LocateIntent: say that the phone was asked."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("LocateIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        user = handler_input.request_envelope.request.intent.slots["User"].value
        return handler_input.response_builder.speak(f"OK, I asked {user}'s phone where it is.").response


def build_anchor_skill() -> CustomSkill:
    """The one-handler skill."""
    builder = SkillBuilder()
    builder.add_request_handler(LocateHandler())
    return builder.create()


def dispatch(skill: CustomSkill, body: bytes) -> bytes:
    """A raw request body in, the response body out."""
    envelope = serializer.deserialize(body, RequestEnvelope)
    response = skill.invoke(request_envelope=envelope, context=None)
    return json.dumps(serializer.serialize(response)).encode()
