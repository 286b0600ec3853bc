"""``python -m skill serve``: banner, real HTTP, clean stop on SIGTERM/SIGINT, one-line errors, ``--ngrok``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest
import requests

from skill.__main__ import main
from tests.helpers import write
from tests.served import EXAMPLE_MAP, ROOT, START_TIMEOUT_S, STOP_TIMEOUT_S, serving

FIXTURE = ROOT / "tests" / "fixtures" / "locate_intent.json"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials or settings from the machine running the tests; the outbox in the test's directory."""
    for name in list(os.environ):
        if name.startswith(("PUSHOVER_", "ALEXA_")) or name in {"INTENT_MAP", "LOG_FORMAT", "ATTACHMENT_DIRS"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("OUTBOX_PATH", str(tmp_path / "outbox.sqlite3"))


def fixture_body() -> bytes:
    return FIXTURE.read_bytes()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_without_verification_answers_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    with serving(tmp_path, "--no-verify") as served, requests.Session() as session:
        health = session.get(f"{served.url}/healthz", timeout=10).json()
        assert (health["dry_run"], health["verification"], health["skill_id_set"]) == (True, False, False)
        response = session.post(
            f"{served.url}/alexa", data=fixture_body(), headers={"Content-Type": "application/json"}, timeout=10
        )
        assert response.status_code == 200, served.stderr
        assert (
            response.json()["response"]["outputSpeech"]["ssml"]
            == "<speak>OK, I asked Paulus's phone where it is.</speak>"
        )
        served.proc.send_signal(signum)
        assert served.proc.wait(timeout=STOP_TIMEOUT_S) == 0, served.stderr
    stderr = served.stderr
    assert "request verification is OFF" in stderr
    assert "ALEXA_SKILL_ID is not set: requests for any skill id are accepted" in stderr
    assert "intents: 5 from" in stderr and "intents.yaml" in stderr
    assert "dry-run: on (PUSHOVER_TOKEN, PUSHOVER_USER not set)" in stderr
    assert "verification: OFF, skill id: not set" in stderr
    assert re.search(r"POST /alexa 200 IntentRequest LocateIntent -> dry_run pushover=- \d+ ms", stderr), stderr
    assert f"{signal.Signals(signum).name} received: stopping" in stderr
    assert stderr.rstrip().endswith("skill.web: stopped"), stderr
    assert "Traceback" not in stderr, stderr


def test_serve_verifies_by_default(tmp_path: Path) -> None:
    # What `make run` starts: verification on, so an unsigned request (curl, a test tool) is refused.
    skill_id = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"
    envelope = json.loads(fixture_body())
    envelope["request"]["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with serving(tmp_path, env={"ALEXA_SKILL_ID": skill_id}) as served, requests.Session() as session:
        response = session.post(
            f"{served.url}/alexa", data=json.dumps(envelope), headers={"Content-Type": "application/json"}, timeout=10
        )
        assert (response.status_code, response.json()) == (400, {"error": "request verification failed"})
        served.proc.terminate()
        assert served.proc.wait(timeout=STOP_TIMEOUT_S) == 0, served.stderr
    stderr = served.stderr
    assert "verification: on, skill id: set" in stderr
    assert "request verification is OFF" not in stderr and "ALEXA_SKILL_ID is not set" not in stderr
    assert (
        "WARNING skill.web: refused POST /alexa 400: Signature-256 header is missing (the request has no Alexa "
        "signature; for local tests: ALEXA_VERIFY=0 or serve --no-verify)"
    ) in stderr
    assert skill_id not in stderr


def test_a_half_configured_notifier_is_flagged_at_start(tmp_path: Path) -> None:
    path = tmp_path / "family.yaml"
    path.write_text(
        "notifiers: {family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}}\n"
        "intents:\n"
        "  A: {notify: {message: hi, notifier: family}}\n"
        "  B: {notify: {message: ho}}\n",
        encoding="utf-8",
    )
    env = {"PUSHOVER_TOKEN": "a" * 30, "PUSHOVER_USER": "u" * 30, "FAMILY_TOKEN": "f" * 30}
    with serving(tmp_path, "--intent-map", str(path), env=env) as served:
        served.proc.terminate()
        assert served.proc.wait(timeout=STOP_TIMEOUT_S) == 0, served.stderr
    assert (
        "WARNING skill.web: notifier 'family' is not set up: FAMILY_USER is not set, "
        'so A will answer "This skill is not set up yet"'
    ) in served.stderr
    assert "default notifier" not in served.stderr


def test_serve_json_logs(tmp_path: Path) -> None:
    with serving(tmp_path, "--no-verify", env={"LOG_FORMAT": "json"}) as served:
        requests.get(f"{served.url}/nowhere", timeout=10).close()
        served.proc.terminate()
        assert served.proc.wait(timeout=STOP_TIMEOUT_S) == 0
    records = [json.loads(line) for line in served.lines]
    (banner,) = [r for r in records if r["message"].startswith("serving ")]
    assert banner["port"] == served.port and banner["intents"] == 5 and banner["dry_run"] is True
    (line,) = [r for r in records if r.get("path") == "/nowhere"]
    assert (line["status"], line["level"]) == (404, "INFO")


# --------------------------------------------------------------------------- in this process: errors and --ngrok


def test_invalid_intent_map_exits_1_with_each_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "intents:\n  A:\n    notify: {mesage: hi}\n  B:\n    notify: {message: hi, priority: 7}\n")
    assert main(["serve", "--port", "0", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith(f"{path}:3:") and "unknown key 'mesage'" in line for line in err)
    assert any(line.startswith(f"{path}:5:") and "priority must be between -2 and 2" in line for line in err)
    assert not any("Traceback" in line for line in err)


def test_busy_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    threads_before = set(threading.enumerate())
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--intent-map", EXAMPLE_MAP]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another program is using it: stop that one, or pick another port with --port)"
    )
    assert not [t.name for t in set(threading.enumerate()) - threads_before if t.name.startswith("skill-web")]


def test_unknown_host_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "no-such-host.invalid", "--port", "0", "--intent-map", EXAMPLE_MAP]) == 1
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: cannot listen on no-such-host.invalid: ")


def test_ngrok_without_pyngrok_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pyngrok", None)  # import pyngrok -> ImportError
    assert main(["serve", "--port", "0", "--ngrok", "--intent-map", EXAMPLE_MAP]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --ngrok needs the optional package pyngrok")


class FakeNgrok(types.ModuleType):
    """A stand-in for ``pyngrok.ngrok``: the real agent cannot be downloaded here."""

    def __init__(self, fail: Exception | None = None) -> None:
        super().__init__("pyngrok.ngrok")
        self.calls: list[tuple[Any, ...]] = []
        self.opened = threading.Event()
        self.fail = fail

    def connect(self, addr: str, proto: str, **options: Any) -> types.SimpleNamespace:
        self.calls.append(("connect", addr, proto, options))
        if self.fail is not None:
            raise self.fail
        self.opened.set()
        return types.SimpleNamespace(public_url="https://f00d-203-0-113-7.ngrok-free.app")

    def disconnect(self, public_url: str) -> None:
        self.calls.append(("disconnect", public_url))

    def kill(self) -> None:
        self.calls.append(("kill",))


def install(monkeypatch: pytest.MonkeyPatch, fake: FakeNgrok) -> None:
    package = types.ModuleType("pyngrok")
    package.ngrok = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyngrok", package)
    monkeypatch.setitem(sys.modules, "pyngrok.ngrok", fake)


def test_serve_with_ngrok_through_main_and_sigterm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeNgrok()
    install(monkeypatch, fake)
    monkeypatch.setenv("ALEXA_SKILL_ID", "amzn1.ask.skill.11111111-2222-3333-4444-555555555555")
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    health: list[dict[str, Any]] = []

    def knock_then_stop() -> None:
        if not fake.opened.wait(START_TIMEOUT_S):
            return
        port = int(fake.calls[0][1])
        with requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            health.append(response.json())
        # Only now: a 200 means serve() runs, so the handler is installed and SIGTERM cannot kill pytest.
        os.kill(os.getpid(), signal.SIGTERM)

    client = threading.Thread(target=knock_then_stop, name="ngrok-test-client")
    client.start()
    try:
        assert main(["serve", "--port", "0", "--ngrok", "--intent-map", EXAMPLE_MAP]) == 0  # SIGTERM: a clean stop
    finally:
        client.join(timeout=STOP_TIMEOUT_S)
    assert not client.is_alive()
    assert health and health[0]["status"] == "ok" and health[0]["verification"] is True
    public = "https://f00d-203-0-113-7.ngrok-free.app"
    assert fake.calls == [
        ("connect", fake.calls[0][1], "http", {"bind_tls": True}),
        ("disconnect", public),
        ("kill",),
    ]
    err = capsys.readouterr().err
    assert f"ngrok: Alexa endpoint {public}/alexa" in err
    assert "SIGTERM received: stopping" in err
    assert {sig: signal.getsignal(sig) for sig in previous} == previous


def test_ngrok_failure_is_one_line_and_closes_the_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeNgrok(fail=RuntimeError("ERR_NGROK_4018: authentication failed\nsign up at https://ngrok.com"))
    install(monkeypatch, fake)
    assert main(["serve", "--port", "0", "--ngrok", "--intent-map", EXAMPLE_MAP]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "error: ngrok could not open a tunnel: ERR_NGROK_4018: authentication failed"
    port = int(fake.calls[0][1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_ngrok_with_verification_off_warns(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeNgrok()
    install(monkeypatch, fake)

    def stop_when_open() -> None:
        if fake.opened.wait(START_TIMEOUT_S):
            port = int(fake.calls[0][1])
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).close()
            os.kill(os.getpid(), signal.SIGINT)

    client = threading.Thread(target=stop_when_open)
    client.start()
    try:
        assert main(["serve", "--port", "0", "--ngrok", "--no-verify", "--intent-map", EXAMPLE_MAP]) == 0
    finally:
        client.join(timeout=STOP_TIMEOUT_S)
    err = capsys.readouterr().err
    assert "public through ngrok with verification OFF" in err
    assert "SIGINT received: stopping" in err
