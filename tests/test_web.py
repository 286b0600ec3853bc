"""Tests for skill.web: POST /alexa and GET /healthz, through Flask's test client and through the real server."""

from __future__ import annotations

import copy
import datetime as dt
import http.client
import io
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from skill import const
from skill.__main__ import main
from skill.alexa import build_request_envelope
from skill.config import Settings
from skill.intent_map import load_intent_map
from skill.service import Service
from skill.web import SERVER_MAX_BODY_BYTES, WebServer, create_app, skill_of
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import make_settings
from tests.pki import Pki, make_pki, rsa_key, sign, signed_headers

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MAP = str(ROOT / "intents.yaml")
FIXTURES = ROOT / "tests" / "fixtures"
SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"  # the id in tests/fixtures/*.json
OTHER_SKILL_ID = "amzn1.ask.skill.99999999-8888-7777-6666-555555555555"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-14.pem"
ROGUE_URL = "https://s3.amazonaws.com/echo.api/rogue.pem"
NO_SAN_URL = "https://s3.amazonaws.com/echo.api/no-san.pem"
EXPIRED_URL = "https://s3.amazonaws.com/echo.api/expired.pem"
MISSING_URL = "https://s3.amazonaws.com/echo.api/missing.pem"
LOCATE_SPEECH = "<speak>OK, I asked Paulus's phone where it is.</speak>"


# --------------------------------------------------------------------------- building requests


def iso(when: dt.datetime) -> str:
    """A time as Alexa writes it."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def locate_envelope(*, age: dt.timedelta = dt.timedelta(0), app_id: str = SKILL_ID) -> dict[str, Any]:
    """tests/fixtures/locate_intent.json ("where is paulie", resolved to Paulus), stamped now."""
    envelope = json.loads((FIXTURES / "locate_intent.json").read_text(encoding="utf-8"))
    envelope["request"]["timestamp"] = iso(dt.datetime.now(dt.UTC) - age)
    envelope["request"]["requestId"] = f"amzn1.echo-api.request.{uuid.uuid4()}"  # unique, as Alexa's are
    envelope["context"]["System"]["application"]["applicationId"] = app_id
    envelope["session"]["application"]["applicationId"] = app_id
    return envelope


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


def alexa_headers(body: bytes, pki: Pki, url: str = CERT_URL) -> dict[str, str]:
    """Headers as Alexa sends them with ``body``, signed by the test PKI's leaf."""
    return signed_headers(body, pki.leaf_key, url)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def chains(pki: Pki) -> dict[str, bytes]:
    """What the fake S3 serves: Amazon's chain, and chains an attacker might point at."""
    now = dt.datetime.now(dt.UTC)
    return {
        CERT_URL: pki.chain_pem,
        ROGUE_URL: make_pki(root_name="Rogue Root CA").chain_pem,
        NO_SAN_URL: pki.reissue(dns_names=("example.com",)).chain_pem,
        EXPIRED_URL: pki.reissue(
            not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1)
        ).chain_pem,
    }


@pytest.fixture
def fetched() -> list[str]:
    """The certificate URLs the verifier fetched during the test."""
    return []


@pytest.fixture
def fetch(chains: dict[str, bytes], fetched: list[str]) -> Callable[[str], bytes]:
    """The verifier's fetch seam: the chains above, by URL; anything else is a 404."""

    def fetch(url: str) -> bytes:
        fetched.append(url)
        if url not in chains:
            raise OSError(f"HTTP 404 for {url}")
        return chains[url]

    return fetch


@pytest.fixture
def ca_bundle(tmp_path: Path, pki: Pki) -> str:
    path = tmp_path / "roots.pem"
    path.write_bytes(pki.root_pem)
    return str(path)


@pytest.fixture
def dry_settings(tmp_path: Path) -> Settings:
    """Dry run (no credentials), verification off, no skill id; the outbox file in the test's own directory."""
    return make_settings(intent_map_path=EXAMPLE_MAP, alexa_verify=False, outbox_path=str(tmp_path / "outbox.sqlite3"))


@pytest.fixture
def settings(fake_pushover: FakePushover, ca_bundle: str, dry_settings: Settings) -> Settings:
    """Real sending (to the fake Pushover), verification on, the fixtures' skill id."""
    return make_settings(
        fake_pushover,
        intent_map_path=EXAMPLE_MAP,
        alexa_skill_id=SKILL_ID,
        alexa_verify=True,
        alexa_ca_bundle=ca_bundle,
        outbox_path=dry_settings.outbox_path,
    )


@pytest.fixture
def make_app(fetch: Callable[[str], bytes], tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps, each with its outbox in the test's directory; each is closed after the test."""
    apps: list[Flask] = []

    def make(settings: Settings, **config: Any) -> Flask:
        if settings.outbox_path == const.DEFAULT_OUTBOX_PATH:
            settings = settings.with_overrides(outbox_path=str(tmp_path / "outbox.sqlite3"))
        app = create_app({"TESTING": True, "SETTINGS": settings, "FETCH": fetch, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        skill_of(app).close()


@pytest.fixture
def app(make_app: Callable[..., Flask], settings: Settings) -> Flask:
    return make_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def live(app: Flask) -> Iterator[WebServer]:
    """The app on the real server at 127.0.0.1, a free port, in a thread; stopped (and checked) after the test."""
    server = WebServer(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve, name="test-server-loop")
    thread.start()
    yield server
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def web_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="skill")
    return caplog


def web_records(caplog: pytest.LogCaptureFixture, level: int | None = None) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "skill.web" and (level is None or r.levelno == level)]


def speech_of(data: dict[str, Any]) -> str:
    return str(data["response"]["outputSpeech"]["ssml"])


# --------------------------------------------------------------------------- the endpoint: accepted


def test_signed_request_is_answered_and_sends_one_notification(
    client: FlaskClient, pki: Pki, fake_pushover: FakePushover, web_log: pytest.LogCaptureFixture
) -> None:
    body = encode(locate_envelope())
    response = client.post("/alexa", data=body, headers=alexa_headers(body, pki))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert speech_of(response.get_json()) == LOCATE_SPEECH
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.form["message"] == "The location of Paulus has been queried via Alexa."
    assert sent.form["device"] == "pixel"
    assert len(fake_pushover.requests) == 1


def test_one_log_line_per_request_with_the_http_status(
    client: FlaskClient, pki: Pki, web_log: pytest.LogCaptureFixture
) -> None:
    envelope = locate_envelope()
    body = encode(envelope)
    client.post("/alexa", data=body, headers=alexa_headers(body, pki))
    (line,) = [r for r in web_log.records if r.name in {"skill.web", "skill.alexa"} and r.levelno >= logging.INFO]
    message = line.getMessage()
    assert line.name == "skill.web" and line.levelno == logging.INFO
    assert message.startswith("POST /alexa 200 IntentRequest LocateIntent -> sent pushover=")
    assert message.endswith(" ms")
    assert line.status == 200 and line.intent == "LocateIntent" and line.outcome == "sent"  # type: ignore[attr-defined]
    assert line.request_id == envelope["request"]["requestId"]  # type: ignore[attr-defined]
    assert TOKEN not in web_log.text and USER not in web_log.text


def test_chain_is_fetched_once_for_many_requests(client: FlaskClient, pki: Pki, fetched: list[str]) -> None:
    for _ in range(3):
        body = encode(locate_envelope())
        assert client.post("/alexa", data=body, headers=alexa_headers(body, pki)).status_code == 200
    assert fetched == [CERT_URL]


def test_body_of_exactly_the_limit_is_accepted(client: FlaskClient, pki: Pki) -> None:
    compact = encode(locate_envelope())
    body = compact + b" " * (const.MAX_BODY_BYTES - len(compact))
    assert len(body) == const.MAX_BODY_BYTES
    response = client.post("/alexa", data=body, headers=alexa_headers(body, pki))
    assert response.status_code == 200


def test_skill_errors_become_speech_not_a_500(
    make_app: Callable[..., Flask], settings: Settings, pki: Pki, web_log: pytest.LogCaptureFixture
) -> None:
    class BrokenService(Service):
        def handle_intent(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    service = BrokenService(load_intent_map(EXAMPLE_MAP), settings)
    client = make_app(settings, SERVICE=service).test_client()
    body = encode(locate_envelope())
    response = client.post("/alexa", data=body, headers=alexa_headers(body, pki))
    assert response.status_code == 200
    assert "Sorry" in speech_of(response.get_json())
    assert any(r.exc_info for r in web_log.records if r.name == "skill.alexa")


# --------------------------------------------------------------------------- the endpoint: refused


def _unchanged(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = encode(envelope)
    return body, alexa_headers(body, pki)


def _without(header: str) -> Callable[[Pki, dict[str, Any]], tuple[bytes, dict[str, str]]]:
    def forge(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body, headers = _unchanged(pki, envelope)
        del headers[header]
        return body, headers

    return forge


def _sha1_only(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body, headers = _unchanged(pki, envelope)
    headers["Signature"] = headers.pop("Signature-256")
    return body, headers


def _tampered(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    _, headers = _unchanged(pki, envelope)
    forged = copy.deepcopy(envelope)
    forged["request"]["intent"]["slots"]["User"]["value"] = "mallory"
    return encode(forged), headers


def _whitespace_added(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body, headers = _unchanged(pki, envelope)
    return body + b"\n", headers


def _other_key(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = encode(envelope)
    return body, signed_headers(body, rsa_key("attacker"), CERT_URL)


def _garbled(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body, headers = _unchanged(pki, envelope)
    headers["Signature-256"] = "not base64 !!"
    return body, headers


def _cert_url(url: str) -> Callable[[Pki, dict[str, Any]], tuple[bytes, dict[str, str]]]:
    def forge(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = encode(envelope)
        return body, alexa_headers(body, pki, url)

    return forge


def _stamped(age: dt.timedelta) -> Callable[[Pki, dict[str, Any]], tuple[bytes, dict[str, str]]]:
    def forge(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        envelope["request"]["timestamp"] = iso(dt.datetime.now(dt.UTC) - age)
        return _unchanged(pki, envelope)

    return forge


def _for_skill(app_id: str) -> Callable[[Pki, dict[str, Any]], tuple[bytes, dict[str, str]]]:
    def forge(pki: Pki, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return _unchanged(pki, locate_envelope(app_id=app_id))

    return forge


FORGERIES = {
    "no Signature-256": (_without("Signature-256"), "Signature-256 header is missing"),
    "only the SHA-1 Signature": (_sha1_only, "only the SHA-1 Signature header was sent"),
    "no SignatureCertChainUrl": (_without("SignatureCertChainUrl"), "SignatureCertChainUrl header is missing"),
    "body changed after signing": (_tampered, "Signature-256 does not match the request body"),
    "a byte added after signing": (_whitespace_added, "Signature-256 does not match the request body"),
    "signed by another key": (_other_key, "Signature-256 does not match the request body"),
    "signature not base64": (_garbled, "Signature-256 header is not valid base64"),
    "chain on another host": (_cert_url("https://evil.example.com/echo.api/cert.pem"), "host must be s3.amazonaws"),
    "chain over http": (_cert_url("http://s3.amazonaws.com/echo.api/echo-api-cert-14.pem"), "must use https"),
    "chain outside echo.api": (_cert_url("https://s3.amazonaws.com/echo.api/../evil/cert.pem"), "path must start"),
    "chain on another port": (_cert_url("https://s3.amazonaws.com:8443/echo.api/cert.pem"), "port must be 443"),
    "chain from an untrusted root": (_cert_url(ROGUE_URL), "does not lead to a trusted root"),
    "leaf not for echo-api.amazon.com": (_cert_url(NO_SAN_URL), "not issued to echo-api.amazon.com"),
    "expired leaf": (_cert_url(EXPIRED_URL), "signing certificate expired"),
    "chain cannot be fetched": (_cert_url(MISSING_URL), "could not fetch certificate chain"),
    "replayed 10 minutes later": (_stamped(dt.timedelta(minutes=10)), "s old (limit 150 s)"),
    "stamped in the future": (_stamped(-dt.timedelta(minutes=5)), "in the future (limit 150 s)"),
    "another skill, signed": (_for_skill(OTHER_SKILL_ID), "request is for another skill"),
}


@pytest.mark.parametrize(("forge", "reason"), FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_requests_are_refused_and_send_nothing(
    client: FlaskClient,
    pki: Pki,
    fake_pushover: FakePushover,
    web_log: pytest.LogCaptureFixture,
    forge: Callable[[Pki, dict[str, Any]], tuple[bytes, dict[str, str]]],
    reason: str,
) -> None:
    body, headers = forge(pki, locate_envelope())
    response = client.post("/alexa", data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"error": "request verification failed"}
    (line,) = web_records(web_log, logging.WARNING)
    assert line.getMessage().startswith("refused POST /alexa 400: ")
    assert reason in line.getMessage()
    assert "\n" not in line.getMessage()
    assert fake_pushover.requests == []


def test_wrong_skill_id_is_refused_even_without_verification(
    make_app: Callable[..., Flask], settings: Settings, fake_pushover: FakePushover, web_log: pytest.LogCaptureFixture
) -> None:
    client = make_app(settings.with_overrides(alexa_verify=False)).test_client()
    body = encode(locate_envelope(app_id=OTHER_SKILL_ID))
    response = client.post("/alexa", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "request is for another skill" in web_records(web_log, logging.WARNING)[-1].getMessage()
    assert fake_pushover.requests == []
    body = encode(locate_envelope())
    assert client.post("/alexa", data=body, content_type="application/json").status_code == 200


def test_without_verification_unsigned_and_stale_requests_pass(
    make_app: Callable[..., Flask], settings: Settings, web_log: pytest.LogCaptureFixture
) -> None:
    client = make_app(settings.with_overrides(alexa_verify=False)).test_client()
    body = encode(locate_envelope(age=dt.timedelta(days=1)))
    response = client.post("/alexa", data=body, content_type="application/json")
    assert response.status_code == 200
    assert speech_of(response.get_json()) == LOCATE_SPEECH


def test_start_warnings_for_verification_off_and_no_skill_id(
    make_app: Callable[..., Flask], settings: Settings, web_log: pytest.LogCaptureFixture
) -> None:
    make_app(settings)
    assert web_records(web_log, logging.WARNING) == []
    make_app(settings.with_overrides(alexa_verify=False, alexa_skill_id=None))
    warnings = [r.getMessage() for r in web_records(web_log, logging.WARNING)]
    assert any(m.startswith("request verification is OFF") for m in warnings)
    assert "ALEXA_SKILL_ID is not set: requests for any skill id are accepted" in warnings


def test_any_skill_id_is_accepted_when_none_is_set(make_app: Callable[..., Flask], settings: Settings) -> None:
    client = make_app(settings.with_overrides(alexa_verify=False, alexa_skill_id=None)).test_client()
    body = encode(locate_envelope(app_id=OTHER_SKILL_ID))
    assert client.post("/alexa", data=body, content_type="application/json").status_code == 200


def _valid() -> bytes:
    return encode(locate_envelope())


MALFORMED = {
    "empty body": (b"", "application/json", "the body is not valid JSON"),
    "bad JSON": (b'{"version": "1.0", "request": ', "application/json", "the body is not valid JSON"),
    "not UTF-8": (b'{"version": "\xff\xfe"}', "application/json", "the body is not valid JSON"),
    "deeply nested": (b"[" * 100_000, "application/json", "the body is not valid JSON"),
    "empty object": (b"{}", "application/json", "not an Alexa request: no request object"),
    "a JSON list": (b"[1, 2, 3]", "application/json", "the body is not a JSON object"),
    "a JSON string": (b'"hello"', "application/json", "the body is not a JSON object"),
    "null": (b"null", "application/json", "the body is not a JSON object"),
    "no requestId": (
        b'{"version": "1.0", "request": {"type": "LaunchRequest", "timestamp": "x"}}',
        "application/json",
        "not an Alexa request: request.requestId is missing or not text",
    ),
    "intent without a name": (
        b'{"version": "1.0", "request": {"type": "IntentRequest", "requestId": "r", "timestamp": "t", "intent": {}}}',
        "application/json",
        "an IntentRequest needs intent.name",
    ),
    "text/plain": (None, "text/plain", "Content-Type must be application/json, not 'text/plain'"),
    "a form": (None, "application/x-www-form-urlencoded", "Content-Type must be application/json"),
    "no Content-Type": (None, None, "Content-Type must be application/json, not 'none'"),
}


@pytest.mark.parametrize(("body", "content_type", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bodies_are_400_never_500(
    client: FlaskClient,
    pki: Pki,
    fake_pushover: FakePushover,
    web_log: pytest.LogCaptureFixture,
    body: bytes | None,
    content_type: str | None,
    reason: str,
) -> None:
    body = _valid() if body is None else body
    headers = alexa_headers(body, pki)
    headers.pop("Content-Type")
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post("/alexa", data=body, headers=headers)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]
    (line,) = web_records(web_log, logging.WARNING)
    assert reason in line.getMessage()
    assert fake_pushover.requests == []


def test_envelope_the_sdk_cannot_read_is_400(
    make_app: Callable[..., Flask], settings: Settings, fake_pushover: FakePushover
) -> None:
    client = make_app(settings.with_overrides(alexa_verify=False)).test_client()
    envelope = locate_envelope()
    envelope["request"]["intent"]["slots"]["User"]["resolutions"] = "not an object"
    response = client.post("/alexa", data=encode(envelope), content_type="application/json")
    assert response.status_code == 400
    assert "does not fit Alexa's request format" in response.get_json()["error"]
    assert fake_pushover.requests == []


def test_a_crashing_check_refuses_the_request(
    make_app: Callable[..., Flask], settings: Settings, fake_pushover: FakePushover, web_log: pytest.LogCaptureFixture
) -> None:
    class CrashingVerifier:
        verify_signature = True
        skill_id = SKILL_ID

        def verify(self, headers: Any, body: bytes, envelope: dict[str, Any]) -> None:
            raise TypeError("a bug")

        def close(self) -> None:
            pass

    client = make_app(settings, VERIFIER=CrashingVerifier()).test_client()
    response = client.post("/alexa", data=_valid(), content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "request verification failed"}
    assert any(r.exc_info for r in web_log.records if r.levelno == logging.ERROR)
    assert "verification failed unexpectedly (TypeError)" in web_records(web_log, logging.WARNING)[-1].getMessage()
    assert fake_pushover.requests == []


def test_body_over_the_limit_is_413(
    client: FlaskClient, fake_pushover: FakePushover, web_log: pytest.LogCaptureFixture
) -> None:
    body = b" " * (const.MAX_BODY_BYTES + 1)
    response = client.post("/alexa", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": f"the body is larger than {const.MAX_BODY_BYTES} bytes"}
    assert "refused POST /alexa 413" in web_records(web_log, logging.WARNING)[0].getMessage()
    assert fake_pushover.requests == []


def _chunked(client: FlaskClient, body: bytes, headers: dict[str, str]) -> tuple[int, io.BytesIO]:
    """POST ``body`` without Content-Length, as a server that de-chunks (wsgi.input_terminated) passes it on."""
    stream = io.BytesIO(body)
    response = client.post(
        "/alexa",
        input_stream=stream,
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    return response.status_code, stream


def test_chunked_body_over_the_limit_is_413(client: FlaskClient, pki: Pki) -> None:
    compact = _valid()
    body = compact + b" " * (const.MAX_BODY_BYTES - len(compact) + 1)
    status, stream = _chunked(client, body, alexa_headers(body, pki))
    assert status == 413
    assert stream.tell() == const.MAX_BODY_BYTES + 1  # read no further than needed to know


def test_chunked_body_within_the_limit_is_read_whole(client: FlaskClient, pki: Pki) -> None:
    compact = _valid()
    body = compact + b" " * (const.MAX_BODY_BYTES - len(compact))
    status, _ = _chunked(client, body, alexa_headers(body, pki))
    assert status == 200


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_on_alexa_are_405(client: FlaskClient, method: str) -> None:
    response = client.open("/alexa", method=method, data=_valid(), content_type="application/json")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    if method != "HEAD":
        assert response.get_json() == {"error": "method not allowed"}


@pytest.mark.parametrize("path", ["/", "/alexa/", "/Alexa", "/healthz/x", "/static/x.js"])
def test_unknown_paths_are_json_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json() == {"error": "not found"}


# --------------------------------------------------------------------------- /healthz


def test_healthz_reports_without_secrets(client: FlaskClient, app: Flask, pki: Pki) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.get_json()
    intent_map = data.pop("intent_map")
    assert (intent_map["ok"], intent_map["generation"], intent_map["problems"]) == (True, 1, [])
    assert data == {
        "status": "ok",
        "version": const.VERSION,
        "intents": 5,
        "dry_run": False,
        "verification": True,
        "skill_id_set": True,
        "pushover_quota": None,
        "outbox": {"depth": 0, "oldest_age_s": None, "set_aside": 0},
        "people": {
            "people": 0,
            "rooms": 0,
            "unknown_person_ids": {"requests": 0, "ids": {}, "more": 0},
            "unknown_device_ids": {"requests": 0, "ids": {}, "more": 0},
        },
        "alerts": {"open": [], "acknowledgements": "polling"},
    }
    text = response.get_data(as_text=True)
    assert TOKEN not in text and USER not in text and SKILL_ID not in text
    body = _valid()
    client.post("/alexa", data=body, headers=alexa_headers(body, pki))
    quota = client.get("/healthz").get_json()["pushover_quota"]
    assert quota["limit"] == 10_000 and quota["remaining"] == 9_999 and quota["reset"] > time.time()


def test_healthz_in_dry_run_without_verification(make_app: Callable[..., Flask], dry_settings: Settings) -> None:
    client = make_app(dry_settings).test_client()
    data = client.get("/healthz").get_json()
    assert (data["dry_run"], data["verification"], data["skill_id_set"]) == (True, False, False)
    assert client.post("/healthz").status_code == 405


def test_healthz_is_logged_at_debug_only(client: FlaskClient, web_log: pytest.LogCaptureFixture) -> None:
    client.get("/healthz")
    (line,) = web_records(web_log)
    assert line.levelno == logging.DEBUG and line.getMessage().startswith("GET /healthz 200")


# --------------------------------------------------------------------------- the same answer as simulate


SIMULATIONS = {
    "launch": (["--launch"], ("LaunchRequest", None, None)),
    "locate": (["LocateIntent", "User=Paulus"], ("IntentRequest", "LocateIntent", {"User": "Paulus"})),
    "locate, slot missing": (["LocateIntent"], ("IntentRequest", "LocateIntent", {})),
    "shopping": (["ShoppingIntent", "Item=milk"], ("IntentRequest", "ShoppingIntent", {"Item": "milk"})),
    "emergency asks first": (["EmergencyIntent"], ("IntentRequest", "EmergencyIntent", {})),
    "help": (["AMAZON.HelpIntent"], ("IntentRequest", "AMAZON.HelpIntent", {})),
    "unknown intent": (["NoSuchIntent"], ("IntentRequest", "NoSuchIntent", {})),
}


@pytest.mark.parametrize(("argv", "request_args"), SIMULATIONS.values(), ids=SIMULATIONS.keys())
def test_endpoint_answers_like_simulate(
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    dry_settings: Settings,
    argv: list[str],
    request_args: tuple[str, str | None, dict[str, str] | None],
) -> None:
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "INTENT_MAP", "LOG_FORMAT", "ALEXA_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    main(["simulate", *argv, "--json", "--intent-map", EXAMPLE_MAP])
    simulated = json.loads(capsys.readouterr().out)["response"]

    client = make_app(dry_settings).test_client()
    envelope = build_request_envelope(*request_args)
    response = client.post("/alexa", data=encode(envelope), content_type="application/json")
    assert response.status_code == 200
    assert response.get_json() == simulated


# --------------------------------------------------------------------------- through the real server and HTTP


def test_signed_request_through_the_server(
    live: WebServer, session: requests.Session, pki: Pki, fake_pushover: FakePushover
) -> None:
    body = _valid()
    response = session.post(f"{live.url}/alexa", data=body, headers=alexa_headers(body, pki), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert speech_of(response.json()) == LOCATE_SPEECH
    assert len(fake_pushover.requests_to("messages")) == 1


def test_chunked_signed_request_through_the_server(live: WebServer, session: requests.Session, pki: Pki) -> None:
    body = _valid()
    response = session.post(
        f"{live.url}/alexa", data=iter([body[:100], body[100:]]), headers=alexa_headers(body, pki), timeout=10
    )
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 200
    assert speech_of(response.json()) == LOCATE_SPEECH


def test_forged_request_through_waitress_sends_nothing(
    live: WebServer, session: requests.Session, pki: Pki, fake_pushover: FakePushover
) -> None:
    body, headers = _tampered(pki, locate_envelope())
    response = session.post(f"{live.url}/alexa", data=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "request verification failed"}
    assert fake_pushover.requests == []


def test_limits_and_methods_through_the_server(live: WebServer, session: requests.Session) -> None:
    url = f"{live.url}/alexa"
    too_big = b" " * (const.MAX_BODY_BYTES + 1)
    response = session.post(url, data=too_big, headers={"Content-Type": "application/json"}, timeout=10)
    assert (response.status_code, response.json()) == (413, {"error": "the body is larger than 131072 bytes"})

    def chunks() -> Iterator[bytes]:  # a generator body goes out chunked, without Content-Length
        for _ in range(3 * const.MAX_BODY_BYTES // 4096):
            yield b" " * 4096

    response = session.post(url, data=chunks(), headers={"Content-Type": "application/json"}, timeout=10)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 413
    for method in ("GET", "PUT", "DELETE"):
        response = session.request(method, url, timeout=10)
        assert (response.status_code, response.headers["Allow"]) == (405, "POST")
    assert session.get(f"{live.url}/nowhere", timeout=10).json() == {"error": "not found"}
    assert session.get(f"{live.url}/healthz", timeout=10).json()["status"] == "ok"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_through_the_server(
    live: WebServer, session: requests.Session, pki: Pki, chunked: bool
) -> None:
    compact = _valid()
    body = compact + b" " * (const.MAX_BODY_BYTES - len(compact))
    assert len(body) == const.MAX_BODY_BYTES == 131_072
    data: bytes | Iterator[bytes] = iter([body[:1000], body[1000:]]) if chunked else body
    response = session.post(f"{live.url}/alexa", data=data, headers=alexa_headers(body, pki), timeout=10)
    assert response.status_code == 200
    assert speech_of(response.json()) == LOCATE_SPEECH
    over = body + b" "
    data = iter([over[:1000], over[1000:]]) if chunked else over
    response = session.post(f"{live.url}/alexa", data=data, headers=alexa_headers(over, pki), timeout=10)
    assert response.status_code == 413


def test_the_server_refuses_huge_bodies_before_reading_them(live: WebServer) -> None:
    with socket.create_connection((live.host, live.port), timeout=10) as sock:
        sock.sendall(
            b"POST /alexa HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (SERVER_MAX_BODY_BYTES * 4)
        )
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413 ")


def test_stop_closes_idle_keep_alive_connections(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    server = WebServer(app, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve)
    thread.start()
    idle = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        idle.request("GET", "/healthz")
        answer = idle.getresponse()
        assert answer.status == 200 and answer.read()  # answered in full; the connection stays open, idle
        with caplog.at_level(logging.WARNING, logger="skill.server"):
            server.stop(timeout=1.0)  # nothing in flight: no wait for the idle connection's 10 s keep-alive
        # The server hung up on the idle connection itself, and did not have to give up waiting for it.
        assert idle.sock is not None and idle.sock.recv(1) == b""
    finally:
        idle.close()
    assert "did not stop" not in caplog.text
    thread.join(timeout=10)
    assert not thread.is_alive()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=2).close()


def test_stop_lets_the_request_in_flight_finish(
    app: Flask, pki: Pki, fake_pushover: FakePushover, session: requests.Session
) -> None:
    fake_pushover.enqueue(delay=0.5)
    server = WebServer(app, host="127.0.0.1", port=0)
    loop = threading.Thread(target=server.serve)
    loop.start()
    answers: list[requests.Response] = []
    body = _valid()
    client = threading.Thread(
        target=lambda: answers.append(
            session.post(f"{server.url}/alexa", data=body, headers=alexa_headers(body, pki), timeout=10)
        )
    )
    client.start()
    deadline = time.monotonic() + 5
    while not fake_pushover.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()
    loop.join(timeout=10)
    client.join(timeout=10)
    assert not loop.is_alive() and not client.is_alive()
    (answer,) = answers
    assert answer.status_code == 200
    assert speech_of(answer.json()) == LOCATE_SPEECH


def test_stop_before_serve_and_twice(app: Flask) -> None:
    server = WebServer(app, host="127.0.0.1", port=0)
    server.stop()
    server.stop()
    server.serve()  # returns at once
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=2).close()


def test_no_worker_thread_outlives_the_server(app: Flask, session: requests.Session) -> None:
    with WebServer(app, host="127.0.0.1", port=0) as server:
        thread = threading.Thread(target=server.serve)
        thread.start()
        session.get(f"{server.url}/healthz", timeout=10)
    thread.join(timeout=10)
    deadline = time.monotonic() + 2
    while any(t.name.startswith("skill-web") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [t.name for t in threading.enumerate() if t.name.startswith("skill-web")] == []


def test_port_zero_binds_a_free_port(app: Flask) -> None:
    with WebServer(app, host="127.0.0.1", port=0) as one, WebServer(app, host="127.0.0.1", port=0) as two:
        assert one.port > 0 and two.port > 0 and one.port != two.port
        assert one.url == f"http://127.0.0.1:{one.port}"


def test_signature_is_over_the_raw_bytes(client: FlaskClient, pki: Pki) -> None:
    # Same JSON, other spacing: a server that re-serialized the body before checking would get this wrong.
    envelope = locate_envelope()
    body = json.dumps(envelope, indent=3, ensure_ascii=True).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "SignatureCertChainUrl": CERT_URL}
    headers["Signature-256"] = sign(body, pki.leaf_key)
    assert client.post("/alexa", data=body, headers=headers).status_code == 200
