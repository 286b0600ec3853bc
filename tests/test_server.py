"""No lock-out: ``python -m skill serve`` with verification on keeps answering signed requests while
hundreds of connections sit idle, drip header lines or stall mid-body, and recovers when they go.

A real deployment's process: the child verifies signatures against a test PKI whose chain it downloads
from a loopback stand-in for ``s3.amazonaws.com`` (through an HTTPS proxy on 127.0.0.1) and sends to
the fake Pushover. The hostile client is bounded in count (``CROWD``) and time, and closes every
socket it opened. Counting assertions only: answered or not, closed or not; speed goes to ``make bench``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from skill.server import HEAD_TIMEOUT_S
from tests.cert_host import CertHost, ConnectProxy, Route, run_cert_host, run_connect_proxy, wait_until
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.pki import Pki, make_pki, signed_headers
from tests.served import ROOT, STOP_TIMEOUT_S, Served, serving

SKILL_ID = "amzn1.ask.skill.11111111-2222-3333-4444-555555555555"  # the id in tests/fixtures/*.json
CERT_PATH = "/echo.api/echo-api-cert-14.pem"
CERT_URL = "https://s3.amazonaws.com" + CERT_PATH
#: Hostile connections held open at once.
CROWD = 1000
#: A probe that gets no answer in this long counts as "not answered".
ANSWER_TIMEOUT_S = 10.0
LOCATE_SPEECH = "<speak>OK, I asked Paulus's phone where it is.</speak>"

pytestmark = [
    pytest.mark.skipif(os.name != "posix" or not hasattr(signal, "SIGTERM"), reason="POSIX processes"),
    pytest.mark.slow,
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("PUSHOVER_", "ALEXA_", "REQUESTS_")) or name in {"INTENT_MAP", "LOG_FORMAT"}:
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def cert_host(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[CertHost]:
    with run_cert_host(tmp_path_factory.mktemp("s3")) as host:
        host.reset({CERT_PATH: Route(200, pki.chain_pem)})
        yield host


@pytest.fixture(scope="module")
def proxy(cert_host: CertHost) -> Iterator[ConnectProxy]:
    with run_connect_proxy(("127.0.0.1", cert_host.server_port)) as proxy:
        yield proxy


@pytest.fixture
def served(
    tmp_path: Path, pki: Pki, cert_host: CertHost, proxy: ConnectProxy, fake_pushover: FakePushover
) -> Iterator[Served]:
    """``python -m skill serve`` as a person runs it: verification on, the skill id set, real sending."""
    roots = tmp_path / "alexa-roots.pem"
    roots.write_bytes(pki.root_pem)
    env = {
        "ALEXA_SKILL_ID": SKILL_ID, "ALEXA_CA_BUNDLE": str(roots),
        "PUSHOVER_API_URL": fake_pushover.url, "PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER,
        "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
        # The chain download goes to the loopback stand-in, which the child trusts as s3.amazonaws.com.
        "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url, "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost", "REQUESTS_CA_BUNDLE": cert_host.ca_file,
    }  # fmt: skip
    with serving(tmp_path, env=env) as served:
        yield served
        served.proc.terminate()
        assert served.proc.wait(timeout=STOP_TIMEOUT_S) == 0, served.stderr[-3000:]
    assert "Traceback" not in served.stderr, served.stderr[-3000:]


def signed_locate(pki: Pki) -> tuple[bytes, dict[str, str]]:
    """tests/fixtures/locate_intent.json as Alexa sends it now: a fresh request id, signed."""
    envelope = json.loads((ROOT / "tests" / "fixtures" / "locate_intent.json").read_text(encoding="utf-8"))
    envelope["request"]["timestamp"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    envelope["request"]["requestId"] = f"amzn1.echo-api.request.{uuid.uuid4()}"
    body = json.dumps(envelope).encode()
    return body, signed_headers(body, pki.leaf_key, CERT_URL)


def probe(served: Served, pki: Pki) -> bool:
    """One signed request on a new connection: answered 200 with the skill's speech?"""
    body, headers = signed_locate(pki)
    try:
        with requests.post(f"{served.url}/alexa", data=body, headers=headers, timeout=ANSWER_TIMEOUT_S) as response:
            return response.status_code == 200 and response.json()["response"]["outputSpeech"]["ssml"] == LOCATE_SPEECH
    except requests.RequestException:
        return False


class Crowd:
    """``n`` hostile connections to ``port``: idle, dripping header lines, or stalled mid-body."""

    HEAD = b"POST /alexa HTTP/1.1\r\nHost: skill\r\nContent-Type: application/json\r\n"

    def __init__(self, port: int, n: int, mode: str) -> None:
        self.port, self.n, self.mode = port, n, mode
        self.sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._dripper: threading.Thread | None = None

    def open(self) -> None:
        for _ in range(self.n):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.sockets.append(sock)
            if self.mode == "drip":
                sock.sendall(self.HEAD)
            elif self.mode == "stalled-body":
                sock.sendall(self.HEAD + b"Content-Length: 4000\r\n\r\n" + b'{"version": "1.0", ')
        if self.mode == "drip":
            self._dripper = threading.Thread(target=self._drip, name="crowd-drip", daemon=True)
            self._dripper.start()

    def _drip(self) -> None:
        """One more header line on every connection every 2 s, for at most 60 s."""
        for i in range(30):
            if self._stop.wait(2.0):
                return
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Drip-%d: 1\r\n" % i)

    def closed_by_server(self) -> int:
        """How many of the connections the server has closed (end of stream, or reset)."""
        closed = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                if sock.recv(65536) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        return closed

    def close(self) -> None:
        self._stop.set()
        if self._dripper is not None:
            self._dripper.join(timeout=10)
        for sock in self.sockets:
            sock.close()


@contextlib.contextmanager
def crowd(port: int, mode: str, n: int = CROWD) -> Iterator[Crowd]:
    hostile = Crowd(port, n, mode)
    try:
        hostile.open()
        yield hostile
    finally:
        hostile.close()


@pytest.mark.parametrize("mode", ["idle", "drip", "stalled-body"])
def test_hostile_connections_lock_nobody_out(served: Served, pki: Pki, fake_pushover: FakePushover, mode: str) -> None:
    with crowd(served.port, mode) as hostile:
        assert len(hostile.sockets) == CROWD
        answered = sum(probe(served, pki) for _ in range(3))
        assert answered == 3, served.stderr[-3000:]
    assert probe(served, pki)  # and once they are gone
    assert len(fake_pushover.requests_to("messages")) == 4


def test_slow_heads_are_closed_and_the_server_recovers_by_itself(served: Served, pki: Pki) -> None:
    with crowd(served.port, "drip") as dripping, crowd(served.port, "idle", n=CROWD // 2) as idle:
        # Each keeps sending (or sends nothing) but never completes a request head in time.
        assert wait_until(lambda: dripping.closed_by_server() == CROWD, timeout_s=HEAD_TIMEOUT_S + 20)
        assert wait_until(lambda: idle.closed_by_server() == CROWD // 2, timeout_s=HEAD_TIMEOUT_S + 20)
        assert probe(served, pki)


def test_a_stalled_body_is_closed_and_a_complete_one_still_answered(served: Served, pki: Pki) -> None:
    body, headers = signed_locate(pki)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", served.port), timeout=ANSWER_TIMEOUT_S + 30) as stalled:
        stalled.sendall(f"POST /alexa HTTP/1.1\r\nHost: skill\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode())
        stalled.sendall(body[:100])
        assert probe(served, pki)
        reply = stalled.recv(65536)  # the server gives up on the rest: 408, or the connection closed
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408 "), reply[:100]


def test_64_requests_waiting_on_a_slow_pushover_are_answered_together(
    served: Served, pki: Pki, fake_pushover: FakePushover
) -> None:
    # Pushover answers none of the 64 messages until all 64 are with it: a server that took them a few at a
    # time would leave the first ones to their deadline, and those people would hear "I'll keep trying".
    n = 64
    fake_pushover.slow(None)
    requests_ = [signed_locate(pki) for _ in range(n)]
    start = threading.Barrier(n)
    speeches: list[str] = []
    lock = threading.Lock()

    def one(body: bytes, headers: dict[str, str]) -> None:
        start.wait()
        speech = ""
        with contextlib.suppress(requests.RequestException):
            response = requests.post(f"{served.url}/alexa", data=body, headers=headers, timeout=30)
            if response.status_code == 200:
                speech = response.json()["response"]["outputSpeech"]["ssml"]
        with lock:
            speeches.append(speech)

    threads = [threading.Thread(target=one, args=request) for request in requests_]
    for thread in threads:
        thread.start()
    try:
        assert wait_until(lambda: len(fake_pushover.requests_to("messages")) == n, 20.0)
    finally:
        fake_pushover.up()
        for thread in threads:
            thread.join(timeout=60)
    assert speeches.count(LOCATE_SPEECH) == n, speeches
    assert len(fake_pushover.requests_to("messages")) == n


def test_the_start_log_says_once_where_it_serves(served: Served, pki: Pki) -> None:
    assert probe(served, pki)
    assert len([line for line in served.lines if f"serving {served.url}/alexa " in line]) == 1
    assert [line for line in served.lines if "Running on" in line or "CTRL + C" in line] == []


def test_the_open_files_limit_is_raised_at_start(tmp_path: Path) -> None:
    resource = pytest.importorskip("resource")
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)

    def low_soft_limit() -> None:  # as on a host whose default is 256 or 1,024
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, wanted), hard))

    code = (
        "import resource; from skill.server import raise_open_files_limit; "
        f"print(resource.getrlimit(resource.RLIMIT_NOFILE)[0], raise_open_files_limit({wanted}), "
        "resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, preexec_fn=low_soft_limit
    )
    assert done.stdout.split() == [str(min(256, wanted)), str(wanted), str(wanted)]
