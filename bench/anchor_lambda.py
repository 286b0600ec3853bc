"""Cold-start anchor for a LaunchRequest: the smallest ask-sdk-core Lambda skill that greets.

``handler`` is what the ASK SDK's own samples deploy (``SkillBuilder.lambda_handler()``), with
one handler that speaks the greeting and reprompt of the example intents.yaml.
"""

from __future__ import annotations

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

GREETING = "Family notes here. You can ask where someone is, or send a message to a phone."
REPROMPT = "What should I send?"


class LaunchHandler(AbstractRequestHandler):
    """LaunchRequest: greet and keep the session open."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_request_type("LaunchRequest")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        return handler_input.response_builder.speak(GREETING).ask(REPROMPT).response


_builder = SkillBuilder()
_builder.add_request_handler(LaunchHandler())
handler = _builder.lambda_handler()
