"""Who is speaking, and where: two known voices and one unknown on two Echos, through both hosts.

Every request is a real envelope (``context.System.person`` / ``device``) played through the web
endpoint (signed, verified) and through the Lambda handler; Pushover is the fake on 127.0.0.1 and
knows each person's own user key, so what arrives shows exactly whose phone it would ring.
"""

from __future__ import annotations

import html
import json
import logging
import re
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill import lambda_function
from skill.alexa import build_request_envelope, resolved_slot
from skill.config import load_settings
from skill.phrases import phrase
from skill.web import create_app, skill_of
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.pki import make_pki, signed_headers

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-14.pem"
PAULUS_KEY = "uPaulusUserKeyA1b2C3d4E5f6G7h8"
ANNA_KEY = "uAnnaLenaUserKeyZ9y8X7w6V5u4T3"
PAULUS, ANNA, GUEST = "amzn1.ask.person.PAULUS0001", "amzn1.ask.person.ANNA0001", "amzn1.ask.person.GUEST0001"
KITCHEN, HALL = "amzn1.ask.device.KITCHEN01", "amzn1.ask.device.HALL01"
NAME_TAG = '<alexa:name type="first" personId="{}"/>'

MAP = f"""
people:
  paulus:
    person_ids: [{PAULUS}]
    user_env: PAULUS_PUSHOVER_USER
    devices: [pixel]
  Anna-Lena:
    person_ids: [{ANNA}]
    user_env: ANNA_PUSHOVER_USER
    synonyms: [mum]
  grandpa:
    user_env: GRANDPA_PUSHOVER_USER
rooms:
  {KITCHEN}: kitchen
  {HALL}: hall
launch:
  speech: "Welcome back{{% if speaker %}}, {{{{ speaker_name }}}}{{% endif %}}. What should I note?"
  reprompt: "What should I note?"
slot_types:
  PersonName: {{from: people}}
intents:
  NoteToSelfIntent:
    samples: ["note {{Text}}"]
    slots: {{Text: AMAZON.SearchQuery}}
    notify: {{to: me, message: "{{{{ Text }}}} (said in the {{{{ room }}}})"}}
    speech: "Noted, {{{{ speaker_name }}}}."
  TellIntent:
    samples: ["tell {{Person}} to come"]
    slots: {{Person: PersonName}}
    notify: {{to: "{{{{ Person }}}}", message: "{{{{ speaker or 'someone' }}}} says: come to the {{{{ room }}}}"}}
    speech: "I told {{{{ Person }}}}."
"""

ENVIRONMENT = {
    "PUSHOVER_TOKEN": TOKEN,
    "PUSHOVER_USER": USER,
    "PAULUS_PUSHOVER_USER": PAULUS_KEY,
    "ANNA_PUSHOVER_USER": ANNA_KEY,
    "ALEXA_SKILL_ID": SKILL_ID,
}


@pytest.fixture
def pushover() -> Iterator[FakePushover]:
    """A Pushover that knows the family's keys: the shared one, Paulus's and Anna-Lena's."""
    with FakePushover(users={USER: ["kitchentab"], PAULUS_KEY: ["pixel"], ANNA_KEY: ["iphone"]}) as fake:
        yield fake


@pytest.fixture
def map_path(tmp_path: Path) -> Path:
    path = tmp_path / "intents.yaml"
    path.write_text(textwrap.dedent(MAP).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def web(pushover: FakePushover, map_path: Path, tmp_path: Path) -> Iterator[Callable[[dict], dict]]:
    """POST /alexa with Alexa's signature, verified against a test CA made here."""
    pki = make_pki()
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(pki.root_pem)
    settings = load_settings(
        {**ENVIRONMENT, "PUSHOVER_API_URL": pushover.url, "INTENT_MAP": str(map_path)},
        alexa_ca_bundle=str(bundle),
        outbox_path=str(tmp_path / "outbox.sqlite3"),
    )
    app = create_app({"TESTING": True, "SETTINGS": settings, "FETCH": lambda url: pki.chain_pem})
    client = app.test_client()

    def play(envelope: dict) -> dict:
        body = json.dumps(envelope).encode()
        answer = client.post("/alexa", data=body, headers=signed_headers(body, pki.leaf_key, CERT_URL))
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    play.health = lambda: client.get("/healthz").get_json()  # type: ignore[attr-defined]
    play.outbox = skill_of(app).outbox  # type: ignore[attr-defined]
    yield play
    skill_of(app).close()


@pytest.fixture
def lam(pushover: FakePushover, map_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict], dict]]:
    """The Lambda handler after a cold start with the same environment."""
    for name in ("PUSHOVER_SECRET_ID", "PUSHOVER_TOKEN_PARAMETER", "PUSHOVER_USER_PARAMETER", "DRY_RUN",
                 "GRANDPA_PUSHOVER_USER"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in {**ENVIRONMENT, "PUSHOVER_API_URL": pushover.url, "INTENT_MAP": str(map_path)}.items():
        monkeypatch.setenv(name, value)
    lambda_function._reset_for_tests()
    yield lambda envelope: lambda_function.handler(envelope, None)
    lambda_function._reset_for_tests()


@pytest.fixture(params=["web", "lambda"])
def host(request: pytest.FixtureRequest) -> Callable[[dict], dict]:
    return request.getfixturevalue("web" if request.param == "web" else "lam")


def request(intent: str, slots: dict[str, Any], person: str | None, device: str, locale: str = "en-US") -> dict:
    return build_request_envelope(
        "IntentRequest", intent, slots, application_id=SKILL_ID, person_id=person, device_id=device, locale=locale
    )


def ssml(response: dict) -> str:
    return str(response["response"]["outputSpeech"]["ssml"])


def heard(response: dict) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", ssml(response))).strip()


def sent(pushover: FakePushover) -> list[tuple[str, str, str]]:
    """(user key, device, message) of every message since the last call."""
    out = [(r.form["user"], r.form.get("device", ""), r.form["message"]) for r in pushover.requests_to("messages")]
    pushover.reset_records()
    return out


# --------------------------------------------------------------------------- done when


def test_each_voice_reaches_its_own_phone_and_every_refusal_is_a_clear_sentence(host, pushover, caplog):
    caplog.set_level(logging.INFO, logger="skill")

    # Paulus, in the kitchen: his own key and his default device; Alexa greets him by name.
    answer = host(request("NoteToSelfIntent", {"Text": "buy milk"}, PAULUS, KITCHEN))
    assert sent(pushover) == [(PAULUS_KEY, "pixel", "buy milk (said in the kitchen)")]
    assert ssml(answer) == f"<speak>Noted, {NAME_TAG.format(PAULUS)}.</speak>"

    # Anna-Lena, in the hall: her key, no device (all of hers).
    answer = host(request("NoteToSelfIntent", {"Text": "call the vet"}, ANNA, HALL))
    assert sent(pushover) == [(ANNA_KEY, "", "call the vet (said in the hall)")]
    assert NAME_TAG.format(ANNA) in ssml(answer)

    # Nobody recognized: nothing goes anywhere (not to the shared key), and Alexa says how to fix it.
    answer = host(request("NoteToSelfIntent", {"Text": "secret"}, None, KITCHEN))
    assert sent(pushover) == []
    assert heard(answer) == phrase("en-US", "voice_unknown")
    assert "<alexa:name" not in ssml(answer)

    # A voice Alexa knows but the map does not: nothing sent, the log says which id to add where.
    answer = host(request("NoteToSelfIntent", {"Text": "secret"}, GUEST, HALL))
    assert sent(pushover) == []
    assert heard(answer) == phrase("en-US", "voice_not_in_map")
    assert any(f"people: <name>: person_ids: [{GUEST}]" in r.getMessage() for r in caplog.records)

    # Paulus tells "mum" (Alexa resolved the synonym): Anna-Lena's phone, with who and where.
    answer = host(request("TellIntent", {"Person": resolved_slot("Person", "mum", "Anna-Lena")}, PAULUS, HALL))
    assert sent(pushover) == [(ANNA_KEY, "", "paulus says: come to the hall")]
    assert heard(answer) == "I told Anna-Lena."

    # An unrecognized voice may still tell a named person; a name Alexa did not resolve matches forgivingly.
    host(request("TellIntent", {"Person": "anna lena"}, None, KITCHEN))
    assert sent(pushover) == [(ANNA_KEY, "", "someone says: come to the kitchen")]
    host(request("TellIntent", {"Person": "Paulus"}, ANNA, KITCHEN))
    assert sent(pushover) == [(PAULUS_KEY, "pixel", "Anna-Lena says: come to the kitchen")]

    # A name that is no person: nothing sent, Alexa names the people it knows.
    answer = host(request("TellIntent", {"Person": "Paula"}, PAULUS, KITCHEN))
    assert sent(pushover) == []
    assert heard(answer) == phrase("en-US", "person_unknown", name="Paula", people="paulus, Anna-Lena and grandpa")

    # A person whose key variable is missing is "not set up"; the log names the variable.
    answer = host(request("TellIntent", {"Person": "grandpa"}, ANNA, HALL))
    assert sent(pushover) == []
    assert heard(answer) == phrase("en-US", "person_not_configured", name="grandpa")
    assert any("GRANDPA_PUSHOVER_USER" in r.getMessage() for r in caplog.records)


def test_refusals_are_heard_in_german_too(host, pushover):
    answer = host(request("NoteToSelfIntent", {"Text": "Milch"}, None, KITCHEN, locale="de-DE"))
    assert heard(answer) == phrase("de-DE", "voice_unknown")
    answer = host(request("TellIntent", {"Person": "Paula"}, None, KITCHEN, locale="de-DE"))
    assert heard(answer) == phrase("de-DE", "person_unknown", name="Paula", people="paulus, Anna-Lena und grandpa")
    assert "Ich kenne niemanden namens Paula" in heard(answer)
    assert sent(pushover) == []


def test_healthz_lists_the_ids_the_map_lacks_once_each_with_counts(web, pushover, caplog):
    caplog.set_level(logging.INFO, logger="skill.people")
    lounge = "amzn1.ask.device.LOUNGE01"
    for _ in range(3):
        web(request("NoteToSelfIntent", {"Text": "x"}, GUEST, lounge))
    web(request("NoteToSelfIntent", {"Text": "x"}, PAULUS, KITCHEN))
    people = web.health()["people"]  # type: ignore[attr-defined]
    assert people["people"] == 3 and people["rooms"] == 2
    assert people["unknown_person_ids"] == {"requests": 3, "ids": {GUEST: 3}, "more": 0}
    assert people["unknown_device_ids"] == {"requests": 3, "ids": {lounge: 3}, "more": 0}
    seen = [r.getMessage() for r in caplog.records if r.name == "skill.people" and " spoke" in r.getMessage()]
    assert len([m for m in seen if GUEST in m]) == 1 and len([m for m in seen if lounge in m]) == 1
    assert PAULUS_KEY not in json.dumps(web.health())  # type: ignore[attr-defined]


def test_the_launch_greets_a_known_voice_by_name(host):
    answer = host(build_request_envelope("LaunchRequest", application_id=SKILL_ID, person_id=ANNA, device_id=HALL))
    assert ssml(answer) == f"<speak>Welcome back, {NAME_TAG.format(ANNA)}. What should I note?</speak>"
    answer = host(build_request_envelope("LaunchRequest", application_id=SKILL_ID, device_id=HALL))
    assert heard(answer) == "Welcome back. What should I note?"


def test_a_retry_from_the_outbox_still_reaches_only_that_person(web, pushover):
    pushover.enqueue(status=503, endpoint="messages")
    answer = web(request("NoteToSelfIntent", {"Text": "buy milk"}, ANNA, KITCHEN))
    assert heard(answer) == phrase("en-US", "queued")
    assert sent(pushover) == [(ANNA_KEY, "", "buy milk (said in the kitchen)")]  # the try that failed
    assert web.outbox.run_once(time.time() + 60) == 1  # type: ignore[attr-defined]
    assert sent(pushover) == [(ANNA_KEY, "", "buy milk (said in the kitchen)")]
    assert web.outbox.depth() == 0  # type: ignore[attr-defined]
