"""Hosts and envelopes for the ported Home Assistant tests (tests/test_ha_suite.py, tests/test_ha_intent_script.py).

``host(config)`` serves a configuration through the web endpoint (Flask's test client on ``/alexa``,
verification off) or through the Lambda handler, with Pushover at the fake server; the envelopes are
written as Home Assistant's tests write them.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill import lambda_function
from skill.web import create_app, skill_of
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import make_service, parse

SESSION_ID = "amzn1.echo-api.session.0000000-0000-0000-0000-00000000000"
APPLICATION_ID = "amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00ebe"
APPLICATION_ID_SESSION_OPEN = "amzn1.echo-sdk-ams.app.000000-d0ed-0000-ad00-000000d00ebf"
REQUEST_ID = "amzn1.echo-api.request.0000000-0000-0000-0000-00000000000"
AUTHORITY_ID = "amzn1.er-authority.000000-d0ed-0000-ad00-000000d00ebe.ZODIAC"
BUILTIN_AUTH_ID = "amzn1.er-authority.000000-d0ed-0000-ad00-000000d00ebe.TEST"
USER_ID = "amzn1.account.AM3B00000000000000000000000"
HOROSCOPE_ATTRIBUTES = {"supportedHoroscopePeriods": {"daily": True, "weekly": False, "monthly": False}}

Post = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(params=["web", "lambda"])
def host(request, tmp_path: Path, fake_pushover: FakePushover, monkeypatch) -> Iterator[Callable[[str], Post]]:
    """``host(config)`` -> ``post(envelope)``: the answer of the web endpoint or of the Lambda handler."""
    closers: list[Callable[[], None]] = []

    def start(config: str) -> Post:
        path = tmp_path / "configuration.yaml"
        path.write_text(textwrap.dedent(config), encoding="utf-8")
        if request.param == "web":
            service = make_service(parse(path.read_text(), str(path)), fake_pushover)
            settings = service.settings.with_overrides(alexa_verify=False, outbox_path=str(tmp_path / "outbox.db"))
            app = create_app({"TESTING": True, "SETTINGS": settings, "SERVICE": service})
            closers.append(skill_of(app).close)
            client = app.test_client()

            def post_web(envelope: dict[str, Any]) -> dict[str, Any]:
                response = client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
                assert response.status_code == 200, response.get_data(as_text=True)
                return response.get_json()

            return post_web
        for name in ("ALEXA_SKILL_ID", "PUSHOVER_SECRET_ID", "PUSHOVER_TOKEN_PARAMETER", "PUSHOVER_USER_PARAMETER"):
            monkeypatch.delenv(name, raising=False)
        for name, value in {
            "INTENT_MAP": str(path), "PUSHOVER_API_URL": fake_pushover.url, "PUSHOVER_TOKEN": TOKEN,
            "PUSHOVER_USER": USER, "DRY_RUN": "0",
        }.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        lambda_function._reset_for_tests()
        closers.append(lambda_function._reset_for_tests)
        return lambda envelope: lambda_function.handler(json.loads(json.dumps(envelope)), None)

    yield start
    for close in closers:
        close()


def envelope(request: dict[str, Any], *, new: bool = False, app: str = APPLICATION_ID, attributes=None) -> dict:
    """An envelope as Home Assistant's tests write them (no context; session as Alexa's first versions sent it)."""
    return {
        "version": "1.0",
        "session": {
            "new": new,
            "sessionId": SESSION_ID,
            "application": {"applicationId": app},
            "attributes": HOROSCOPE_ATTRIBUTES if attributes is None else attributes,
            "user": {"userId": USER_ID},
        },
        "request": {"requestId": REQUEST_ID, "timestamp": "2015-05-13T12:34:56Z", **request},
    }


def launch(app: str) -> dict:
    return envelope({"type": "LaunchRequest"}, new=True, app=app, attributes={})


def intent(name: str, slots: dict[str, Any] | None = None, **kw: Any) -> dict:
    body: dict[str, Any] = {"name": name}
    if slots is not None:
        body["slots"] = slots
    return envelope({"type": "IntentRequest", "intent": body}, **kw)


def said(answer: dict[str, Any], key: str = "outputSpeech") -> str:
    """What Alexa says. Deliberate difference: SSML where Home Assistant sends PlainText (same words)."""
    speech = answer["response"][key] if key == "outputSpeech" else answer["response"][key]["outputSpeech"]
    assert speech["type"] == "SSML"
    return html.unescape(re.sub(r"<[^>]+>", "", speech["ssml"]))


def zodiac(value: str | None = None, *authorities: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    slot: dict[str, Any] = {"name": "ZodiacSign"}
    if value is not None:
        slot["value"] = value
    if authorities:
        slot["resolutions"] = {
            "resolutionsPerAuthority": [
                {"authority": authority, "status": {"code": code}, "values": [{"value": found}]}
                for authority, code, found in authorities
            ]
        }
    return {"ZodiacSign": slot}
