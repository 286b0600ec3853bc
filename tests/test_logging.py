"""Logs: one line per request (JSON with LOG_FORMAT=json, readable text by default); slot values only at DEBUG."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.__main__ import main
from skill.alexa import build_request_envelope, build_skill, invoke, resolved_slot
from skill.logs import configure_logging
from skill.outbox import Outbox
from skill.service import Service
from skill.web import create_app, skill_of
from tests.fake_pushover import FakePushover
from tests.helpers import make_service, make_settings

#: The fields of the one line each request writes (DESIGN.md: LOG_FORMAT).
REQUEST_FIELDS = {"request_id", "request_type", "intent", "outcome", "pushover_request", "outbox", "ms"}

MAP = """
intents:
  NoteIntent:
    slots: {Text: AMAZON.SearchQuery}
    notify: {message: "Note: {{ Text }}"}
    speech: "Noted {{ Text }}."
  SendIntent:
    slots: {Device: AMAZON.SearchQuery}
    notify: {message: "Hello", target: "{{ Device }}"}
  LevelIntent:
    slots: {Level: AMAZON.SearchQuery}
    notify: {message: "Level", priority: "{{ Level }}"}
  RawTargetIntent:
    slots: {Device: AMAZON.SearchQuery}
    notify: {message: "Hello", target: "{{ Device }}", validate_devices: false}
  CalmIntent:
    slots: {Tag: AMAZON.SearchQuery}
    cancel_alerts: {tag: "{{ Tag }}"}
  PromptIntent:
    slots:
      Who: {type: AMAZON.FirstName, required: true, prompt: "Who, {{ Text }}?"}
      Text: AMAZON.SearchQuery
    notify: {message: "Hi {{ Who }}"}
"""


@pytest.fixture
def log_to() -> Iterator[Callable[..., io.StringIO]]:
    """configure_logging() into a StringIO; the root logger is put back afterwards."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level, logging.getLogger("urllib3").level

    def configure(log_format: str = "text", level: int = logging.INFO) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(log_format, level=level, stream=stream)
        return stream

    yield configure
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("urllib3").setLevel(saved[2])


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def request(service: Service, intent: str | None = None, slots: dict[str, Any] | None = None, **kw: Any) -> str:
    """Run one envelope through the skill with its own INFO line; the envelope's request id."""
    envelope = build_request_envelope(kw.pop("request_type", "IntentRequest"), intent, slots, **kw)
    invoke(build_skill(service), envelope)
    return str(envelope["request"]["requestId"])


def test_json_format_writes_one_line_per_request_with_the_request_fields(
    log_to: Callable[..., io.StringIO], fake_pushover: FakePushover, tmp_path: Path
) -> None:
    service = make_service(MAP, fake_pushover)
    stream = log_to("json")
    ids = [
        request(service, request_type="LaunchRequest"),
        request(service, "NoteIntent", {"Text": "milk"}),
        request(service, "SendIntent", {"Device": "kitchen"}),
        request(service, "AMAZON.StopIntent"),
        request(service, request_type="SessionEndedRequest"),
    ]
    (message,) = fake_pushover.requests_to("messages")
    with Outbox(str(tmp_path / "outbox.sqlite3"), service.client, service.credentials_for) as outbox:
        service.outbox = outbox
        fake_pushover.down()
        ids.append(request(service, "NoteIntent", {"Text": "eggs"}))
    records = [json.loads(line) for line in lines(stream)]  # every line is one JSON object
    per_request = [r for r in records if r["logger"] == "skill.alexa"]
    assert [r["request_id"] for r in per_request] == ids
    for record in per_request:
        assert record.keys() >= REQUEST_FIELDS
        assert record["level"] == "INFO" and isinstance(record["ms"], int | float)
    assert per_request[1]["outcome"] == "sent" and per_request[1]["outbox"] == "-"
    assert per_request[1]["pushover_request"] != "-"
    assert per_request[2]["outcome"] == "unknown_device" and per_request[2]["pushover_request"] == "-"
    assert per_request[0]["request_type"] == "LaunchRequest" and per_request[0]["intent"] is None
    assert per_request[-1]["outcome"] == "queued" and per_request[-1]["outbox"] == "queued"
    assert message.form["message"] == "Note: milk"


def test_json_format_keeps_a_traceback_inside_its_one_line(log_to: Callable[..., io.StringIO]) -> None:
    class Broken(Service):
        def handle_intent(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    plain = make_service(MAP)
    service = Broken(plain.intent_map, plain.settings)
    stream = log_to("json")
    request(service, "NoteIntent", {"Text": "x"})
    records = [json.loads(line) for line in lines(stream)]
    (error,) = [r for r in records if r["level"] == "ERROR"]
    assert "Traceback" in error["exc_info"] and "RuntimeError: boom" in error["exc_info"]
    assert [r["outcome"] for r in records if r["logger"] == "skill.alexa" and r["level"] == "INFO"] == ["fallback"]
    service.close()
    plain.close()


def test_default_format_is_one_readable_line_per_request(
    log_to: Callable[..., io.StringIO], fake_pushover: FakePushover
) -> None:
    service = make_service(MAP, fake_pushover)
    stream = log_to()
    request(service, "NoteIntent", {"Text": "milk"})
    (line,) = [line for line in lines(stream) if " skill.alexa: " in line]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO skill\.alexa: IntentRequest NoteIntent -> sent "
        r"pushover=[0-9a-f-]{36} \d+ ms",
        line,
    ), line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize("breaker", ["\n", "\r\n", "\r", "\u2028", "\x1b[2K\r"])
def test_a_line_break_from_the_request_cannot_forge_a_text_line(
    log_to: Callable[..., io.StringIO], tmp_path: Path, breaker: str
) -> None:
    forged = f"LocateIntent{breaker}2026-01-01 00:00:00,000 INFO skill.web: POST /alexa 200 forged"
    settings = make_settings(alexa_verify=False, outbox_path=str(tmp_path / "outbox.sqlite3"))
    app = create_app({"TESTING": True, "SETTINGS": settings, "SERVICE": make_service(MAP)})
    stream = log_to()
    try:
        envelope = build_request_envelope("IntentRequest", forged, {})
        assert app.test_client().post("/alexa", json=envelope).status_code == 200
    finally:
        skill_of(app).close()
    written = lines(stream)
    assert not [line for line in written if line.startswith("2026-01-01")]
    (line,) = [line for line in written if " skill.web: POST /alexa 200 " in line]
    assert repr(breaker)[1:-1] in line and line.endswith(" ms")
    assert all(c.isprintable() for c in line)


def test_log_format_json_from_the_environment_reaches_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "PUSHOVER_API_URL", "INTENT_MAP", "ATTACHMENT_DIRS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert main(["simulate", "LocateIntent", "User=Paulus", "--verbose"]) == 0
    err = capsys.readouterr().err
    records = [json.loads(line) for line in err.splitlines()]
    (line,) = [r for r in records if r["logger"] == "skill.alexa" and r["level"] == "INFO"]
    assert line.keys() >= REQUEST_FIELDS
    assert (line["intent"], line["outcome"], line["outbox"]) == ("LocateIntent", "dry_run", "-")


# --------------------------------------------------------------------------- slot values only at DEBUG

#: What a person said; it may be private ("the pin is 4711"), so it stays out of INFO and above.
SAID = "zebediah-q7"

SLOT_PATHS = [
    pytest.param("NoteIntent", {"Text": SAID}, {}, id="sent"),
    pytest.param("NoteIntent", {"Text": SAID}, {"dry_run": True}, id="dry-run"),
    pytest.param("SendIntent", {"Device": SAID}, {}, id="unknown-device"),
    pytest.param("SendIntent", {"Device": resolved_slot("Device", SAID, SAID + "x")}, {}, id="resolved-unknown"),
    pytest.param("RawTargetIntent", {"Device": SAID + " sink"}, {}, id="not-a-device-name"),
    pytest.param("LevelIntent", {"Level": SAID}, {}, id="not-a-number"),
    pytest.param("CalmIntent", {"Tag": SAID}, {}, id="cancel"),
    pytest.param("CalmIntent", {"Tag": SAID}, {"dry_run": True}, id="cancel-dry-run"),
    pytest.param("PromptIntent", {"Text": SAID}, {}, id="elicit"),
    pytest.param("NoteIntent", {"Text": SAID}, {"pushover_token": "x" * 30}, id="refused"),
]


@pytest.mark.parametrize(("intent", "slots", "overrides"), SLOT_PATHS)
def test_slot_values_are_logged_only_at_debug(
    caplog: pytest.LogCaptureFixture,
    fake_pushover: FakePushover,
    intent: str,
    slots: dict[str, Any],
    overrides: dict[str, Any],
) -> None:
    service = make_service(MAP, fake_pushover, **overrides)
    caplog.set_level(logging.DEBUG)
    request(service, intent, slots)
    assert [r for r in caplog.records if r.name == "skill.alexa" and r.levelno == logging.INFO]
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    for record in loud:
        rendered = record.getMessage() + json.dumps(vars(record), default=str)
        assert SAID not in rendered, f"{record.levelname} {record.name}: {record.getMessage()}"


def test_web_writes_one_json_line_per_request(
    log_to: Callable[..., io.StringIO], fake_pushover: FakePushover, tmp_path: Path
) -> None:
    settings = make_settings(fake_pushover, alexa_verify=False, outbox_path=str(tmp_path / "outbox.sqlite3"))
    app = create_app({"TESTING": True, "SETTINGS": settings, "SERVICE": make_service(MAP, fake_pushover)})
    client = app.test_client()
    stream = log_to("json")
    envelopes = [build_request_envelope("IntentRequest", "NoteIntent", {"Text": "milk"}) for _ in range(2)]
    try:
        assert client.post("/alexa", json=envelopes[0]).status_code == 200
        fake_pushover.down()
        assert client.post("/alexa", json=envelopes[1]).status_code == 200
        assert client.post("/alexa", data=b"{", content_type="application/json").status_code == 400
        assert client.get("/healthz").status_code == 200
    finally:
        skill_of(app).close()
    records = [json.loads(line) for line in lines(stream)]
    per_request = [r for r in records if r["logger"] in {"skill.web", "skill.alexa"}]
    assert [(r["logger"], r["level"], r.get("status")) for r in per_request] == [
        ("skill.web", "INFO", 200),
        ("skill.web", "INFO", 200),
        ("skill.web", "WARNING", 400),
    ]
    sent, queued, refused = per_request
    for record, envelope in ((sent, envelopes[0]), (queued, envelopes[1])):
        assert record.keys() >= REQUEST_FIELDS
        assert record["request_id"] == envelope["request"]["requestId"]
    assert (sent["outcome"], sent["outbox"]) == ("sent", "-") and sent["pushover_request"] != "-"
    assert (queued["outcome"], queued["outbox"], queued["pushover_request"]) == ("queued", "queued", "-")
    assert refused["reason"] == "the body is not valid JSON"
