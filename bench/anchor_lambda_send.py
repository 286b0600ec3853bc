"""Cold-start anchor for a LocateIntent that is sent: a hand-written ask-sdk-core Lambda skill.

What a careful engineer writes by hand with the usual libraries: PyYAML reads the intent's
settings from the example intents.yaml, Jinja2 compiles its message and speech templates, and
one ``requests.Session`` posts the same notification ours sends to ``PUSHOVER_API_URL``.
Everything is built at import, as in the ASK SDK's samples. No validation beyond what
PyYAML and Jinja2 do, no logging, no retries: the floor for the same work.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import requests
import yaml
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_intent_name
from ask_sdk_model import Response

CONFIG = Path(__file__).resolve().parent.parent / "intents.yaml"


class LocateHandler(AbstractRequestHandler):
    """LocateIntent: post the notification to Pushover, then speak."""

    def __init__(self, config_path: Path) -> None:
        intent = yaml.safe_load(config_path.read_text(encoding="utf-8"))["intents"]["LocateIntent"]
        env = jinja2.Environment(autoescape=True)  # speech is SSML; the message has no markup
        notify = intent["notify"]
        self.message = env.from_string(notify["message"]["en-US"])
        self.speech = env.from_string(intent["speech"]["en-US"])
        self.fields = {"title": notify["title"], "device": notify["target"], "sound": notify["sound"],
                       "url": notify["url"]}  # fmt: skip
        self.url = os.environ.get("PUSHOVER_API_URL", "https://api.pushover.net/1").rstrip("/") + "/messages.json"
        self.session = requests.Session()

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("LocateIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        user = handler_input.request_envelope.request.intent.slots["User"].value
        reply = self.session.post(
            self.url,
            data={
                "token": os.environ["PUSHOVER_TOKEN"],
                "user": os.environ["PUSHOVER_USER"],
                "message": self.message.render(User=user),
                **self.fields,
            },
            timeout=(2.0, 4.0),
        )
        reply.raise_for_status()
        return handler_input.response_builder.speak(self.speech.render(User=user)).response


_builder = SkillBuilder()
_builder.add_request_handler(LocateHandler(CONFIG))
handler = _builder.lambda_handler()
