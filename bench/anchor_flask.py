"""The HTTP anchors: what a careful engineer would write by hand, on the same waitress.

(a) ``create_anchor_app()``: one Flask route, the ask-sdk-core skill of bench/anchor_skill.py
    grown to post the same LocateIntent notification with ``requests`` (one keep-alive
    ``Session``, as any sensible hand-written service would) and speak the same sentence.
(b) ``create_bare_app()``: the floor — a Flask route that returns a canned Alexa response.

No verification, no templates, no logging, no outbox: the cost of Flask + the ASK SDK +
one Pushover call, and nothing else.
"""

from __future__ import annotations

import json
import os

import requests
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_intent_name
from ask_sdk_model import RequestEnvelope, Response
from flask import Flask, request
from flask import Response as FlaskResponse

#: What bare answers every time: the same speech ours gives for User=Paulus.
CANNED = json.dumps(
    {
        "version": "1.0",
        "response": {
            "outputSpeech": {"type": "SSML", "ssml": "<speak>OK, I asked Paulus's phone where it is.</speak>"},
            "shouldEndSession": True,
        },
    }
).encode()


class PushLocateHandler(AbstractRequestHandler):
    """LocateIntent: post the notification to Pushover, then speak."""

    def __init__(self, api_url: str, token: str, user: str) -> None:
        self.url = f"{api_url.rstrip('/')}/messages.json"
        self.token, self.user = token, user
        self.session = requests.Session()

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return is_intent_name("LocateIntent")(handler_input)

    def handle(self, handler_input: HandlerInput) -> Response:
        user = handler_input.request_envelope.request.intent.slots["User"].value
        reply = self.session.post(
            self.url,
            data={
                "token": self.token,
                "user": self.user,
                "message": f"The location of {user} has been queried via Alexa.",
                "title": "Home Assistant",
                "device": "pixel",
                "sound": "falling",
                "url": "https://www.home-assistant.io/",
            },
            timeout=(2.0, 4.0),
        )
        reply.raise_for_status()
        return handler_input.response_builder.speak(f"OK, I asked {user}'s phone where it is.").response


def build_push_skill(api_url: str, token: str, user: str) -> CustomSkill:
    builder = SkillBuilder()
    builder.add_request_handler(PushLocateHandler(api_url, token, user))
    return builder.create()


def create_anchor_app(api_url: str | None = None, token: str | None = None, user: str | None = None) -> Flask:
    """(a): Flask + ask-sdk-core + requests; Pushover settings default to the same variables ours reads."""
    env = os.environ
    skill = build_push_skill(
        api_url or env["PUSHOVER_API_URL"], token or env["PUSHOVER_TOKEN"], user or env["PUSHOVER_USER"]
    )
    serializer = DefaultSerializer()
    app = Flask(__name__)

    @app.post("/alexa")
    def alexa() -> FlaskResponse:
        envelope = serializer.deserialize(request.get_data(), RequestEnvelope)
        response = skill.invoke(request_envelope=envelope, context=None)
        return FlaskResponse(json.dumps(serializer.serialize(response)), mimetype="application/json")

    return app


def create_bare_app() -> Flask:
    """(b): the floor of Flask on waitress."""
    app = Flask(__name__)

    @app.post("/alexa")
    def alexa() -> FlaskResponse:
        request.get_data()
        return FlaskResponse(CANNED, mimetype="application/json")

    return app
