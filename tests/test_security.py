"""Adversarial, end to end: secrets stay out of logs, templates stay in the sandbox, bodies stay small,
attachments stay inside their allowlists. Each test drives the whole skill against the fake Pushover
and checks what actually arrived there (and at the servers nobody may reach).

The unit tests of each guard live in test_render.py, test_attachments.py and test_web.py.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from skill import const
from skill.alexa import build_request_envelope
from skill.service import Service, Status
from skill.web import create_app, skill_of
from tests.conftest import KNOWN_TEST_SECRETS
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import PNG, make_service, make_settings, parse, run, speech

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- the secret scanner itself

LEAKY_TESTS = """
import logging

from skill.logs import configure_logging
from tests.fake_pushover import TOKEN, USER


def test_debug_line():
    logging.getLogger("skill.pushover").debug("POST messages.json token=%s", TOKEN)


def test_traceback():
    try:
        raise ValueError(f"user {USER} refused")
    except ValueError:
        logging.getLogger("urllib3.connectionpool").warning("request failed", exc_info=True)


def test_extra_field():
    logging.getLogger("skill.web").info("POST /alexa 200", extra={"user": USER})


def test_after_configure_logging_replaced_the_root_handlers():
    configure_logging("json", level=logging.DEBUG)
    logging.getLogger("skill.alexa").info("token %s", TOKEN)


def test_masked_is_fine():
    logging.getLogger("skill").warning("token <30 chars, ends …%s>", TOKEN[-2:])
"""


def test_the_autouse_scanner_fails_a_test_that_logs_a_secret(tmp_path: Path) -> None:
    """The conftest fixture run as a plugin over tests that leak on purpose: four leaks, four errors."""
    (tmp_path / "test_leaky.py").write_text(LEAKY_TESTS, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q", "-rE",
         "--rootdir", str(tmp_path), str(tmp_path / "test_leaky.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = completed.stdout
    assert "5 passed, 4 errors" in out, out[-3000:]
    assert sorted(re.findall(r"ERROR at teardown of (\w+)", out)) == [
        "test_after_configure_logging_replaced_the_root_handlers",
        "test_debug_line",
        "test_extra_field",
        "test_traceback",
    ]
    # Count in the error reports only: with CI set, pytest repeats each message in full in its summary.
    reports = out.split("short test summary info")[0]
    assert reports.count("a known test secret reached the log:") == 4
    assert f"<{TOKEN[:4]}…>" in out  # the report names the secret without repeating it


def test_every_known_secret_is_a_credential_the_tests_use() -> None:
    assert TOKEN in KNOWN_TEST_SECRETS and USER in KNOWN_TEST_SECRETS
    assert all(const.KEY_RE.match(secret) for secret in KNOWN_TEST_SECRETS)


# --------------------------------------------------------------------------- templates that try to leave the sandbox

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{{ c }}{% endfor %}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ request }}",
    "{{ config }}",
    "{{ settings }}",
    "{{ environ }}",
    "{{ range.__self__ }}",
    "{{ dict.mro() }}",
    "{{ now.__class__.__init__.__globals__ }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(now) }}",
    "{{ 'a'|attr('__class__') }}",
    "{{ [].pop() }}",
    "{{ {}.update(a=1) }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}{{ os.environ }}",
    "{{ range(10**9)|list }}",
    "{% macro m() %}{{ m.__globals__ }}{% endmacro %}{{ m() }}",
]

#: What would show that a template reached code, modules, the process environment or the settings.
LEAK_RE = re.compile(
    "|".join(
        [r"__builtins__", r"<module", r"__globals__", r"Settings\(", r"Credentials\(", r"environ", r"subprocess",
         r"Traceback", r"root:x:0:0", *map(re.escape, KNOWN_TEST_SECRETS)]
    )
)  # fmt: skip
RENDER_FAILED = "I couldn't put that notification together: "


def escape_map(source: str) -> str:
    quoted = json.dumps(source)
    return f"""
intents:
  MessageIntent:
    notify: {{message: {quoted}}}
  TitleIntent:
    notify: {{message: "Hello", title: {quoted}}}
    speech: {quoted}
    card: {{title: Hello, content: {quoted}}}
  SpeechIntent:
    notify: {{message: "Hello"}}
    speech: {{type: ssml, text: {quoted}}}
    reprompt: {quoted}
"""


@pytest.mark.parametrize("source", ESCAPES)
def test_a_template_that_tries_to_escape_fails_safely_end_to_end(fake_pushover: FakePushover, source: str) -> None:
    service = make_service(escape_map(source), fake_pushover, environ={"SECRET_FOR_TEMPLATES": TOKEN})
    for intent in ("MessageIntent", "TitleIntent", "SpeechIntent"):
        before = len(fake_pushover.requests_to("messages"))
        result = run(service, intent)
        (outcome,) = result.outcomes
        said = speech(result)
        seen = [said, json.dumps(result.response)]
        sent = fake_pushover.requests_to("messages")[before:]
        if outcome.status == Status.RENDER_FAILED:
            assert sent == [] and said.startswith(RENDER_FAILED), said
        else:
            assert outcome.status == Status.SENT, (intent, outcome.status, said)
            (request,) = sent
            seen += [json.dumps({k: v for k, v in request.form.items() if k not in {"token", "user"}})]
            assert "Something went wrong" not in said
        for text in seen:
            assert not LEAK_RE.search(text), (intent, text[:300])
    service.close()


def test_a_sandbox_violation_is_heard_as_one_clear_sentence(fake_pushover: FakePushover) -> None:
    service = make_service(escape_map("{{ [].pop() }}"), fake_pushover)
    result = run(service, "MessageIntent")
    assert speech(result) == RENDER_FAILED + "a template tried something the sandbox does not allow."
    assert fake_pushover.requests_to("messages") == []
    service.close()


def test_a_broken_card_does_not_turn_a_sent_notification_into_try_again(fake_pushover: FakePushover) -> None:
    """The card is rendered after sending: its failure must not make the person send it twice."""
    text = "intents: {A: {notify: {message: Hello}, speech: Sent., card: {title: T, content: '{{ [].pop() }}'}}}"
    service = make_service(text, fake_pushover)
    result = run(service, "A")
    assert len(fake_pushover.requests_to("messages")) == 1
    assert result.outcomes[0].status == Status.SENT
    assert speech(result) == "Sent."
    assert "card" not in result.response["response"]
    service.close()


# --------------------------------------------------------------------------- body size


@pytest.fixture
def open_app(fake_pushover: FakePushover, tmp_path: Path) -> Iterator[Any]:
    """The endpoint with verification off, sending to the fake Pushover."""
    settings = make_settings(fake_pushover, alexa_verify=False, outbox_path=str(tmp_path / "outbox.sqlite3"))
    text = 'intents: {NoteIntent: {notify: {message: "Note: {{ Text | truncate(100) }}"}}}'
    app = create_app({"TESTING": True, "SETTINGS": settings, "SERVICE": make_service(text, fake_pushover)})
    yield app
    skill_of(app).close()


def padded(envelope: dict[str, Any], size: int, *, inside: bool) -> bytes:
    """A valid envelope of exactly ``size`` bytes: padded with spaces, or with a longer slot value."""
    body = json.dumps(envelope).encode()
    if not inside:
        return body + b" " * (size - len(body))
    envelope["request"]["intent"]["slots"]["Text"]["value"] += "x" * (size - len(body))
    return json.dumps(envelope).encode()


@pytest.mark.parametrize("inside", [False, True], ids=["whitespace", "slot-value"])
def test_a_valid_envelope_over_the_size_limit_is_413_and_sends_nothing(
    open_app: Any, fake_pushover: FakePushover, inside: bool
) -> None:
    client = open_app.test_client()
    envelope = build_request_envelope("IntentRequest", "NoteIntent", {"Text": "milk"})
    at_limit = padded(json.loads(json.dumps(envelope)), const.MAX_BODY_BYTES, inside=inside)
    over = padded(json.loads(json.dumps(envelope)), const.MAX_BODY_BYTES + 1, inside=inside)
    assert len(at_limit) == const.MAX_BODY_BYTES and len(over) == const.MAX_BODY_BYTES + 1
    response = client.post("/alexa", data=over, content_type="application/json")
    assert response.status_code == 413
    assert fake_pushover.requests_to("messages") == []
    response = client.post("/alexa", data=at_limit, content_type="application/json")
    assert response.status_code == 200
    assert len(fake_pushover.requests_to("messages")) == 1


# --------------------------------------------------------------------------- URL attachments (SSRF)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins handler threads: none outlives its test

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily, hits: list[str], routes: dict) -> None:
        self.address_family = family
        self.hits, self.routes = hits, routes
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's would look up a host name

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early is expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.hits.append(f"{self.server.server_address[0]} {self.path}")
        status, location = self.server.routes.get(self.path.split("?")[0], (200, None))
        self.send_response(status)
        body = PNG if status == 200 else b""
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Net:
    """One port P: the allowed camera at 127.0.0.3:P; the "evil" server at 127.0.0.1, 127.0.0.2 and [::1], port P."""

    port: int
    camera_hits: list[str]
    evil_hits: list[str]
    camera_routes: dict[str, tuple[int, str | None]]

    @property
    def camera(self) -> str:
        return f"127.0.0.3:{self.port}"


@pytest.fixture
def net() -> Iterator[Net]:
    evil_hits: list[str] = []
    camera_hits: list[str] = []
    routes: dict[str, tuple[int, str | None]] = {}
    servers: list[_Server] = []
    for _attempt in range(20):
        try:
            first = _Server(("127.0.0.1", 0), socket.AF_INET, evil_hits, {})
            servers = [first]
            port = first.server_address[1]
            servers.append(_Server(("127.0.0.2", port), socket.AF_INET, evil_hits, {}))
            if socket.has_ipv6:
                servers.append(_Server(("::1", port), socket.AF_INET6, evil_hits, {}))
            servers.append(_Server(("127.0.0.3", port), socket.AF_INET, camera_hits, routes))
            break
        except OSError as err:
            for server in servers:
                server.server_close()
            servers = []
            if err.errno not in {errno.EADDRINUSE, errno.EADDRNOTAVAIL}:
                raise
    else:
        pytest.skip("no port free on 127.0.0.1, 127.0.0.2 and 127.0.0.3 at once")
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield Net(port, camera_hits, evil_hits, routes)
    for server, thread in zip(servers, threads, strict=True):
        server.shutdown()
        server.server_close()
        thread.join()


#: Every way to name the evil server's address (port P) that a loose host check could let through.
EVIL_ADDRESSES = [
    "http://127.0.0.1:{port}/snap.png",
    "http://127.0.0.2:{port}/snap.png",
    "http://localhost:{port}/snap.png",
    "http://[::1]:{port}/snap.png",
    "http://[::ffff:127.0.0.1]:{port}/snap.png",
    "http://2130706433:{port}/snap.png",
    "http://0x7f000001:{port}/snap.png",
    "http://0177.0.0.1:{port}/snap.png",
    "http://127.1:{port}/snap.png",
    "http://0:{port}/snap.png",
    "HTTP://LOCALHOST:{port}/snap.png",
    "http://localhost.:{port}/snap.png",
]
#: Tricks for URL parsers that disagree on where the host is; "{cam}" is the allowed camera.
EVIL_TRICKS = [
    "http://①②⑦.0.0.1:{port}/snap.png",
    "http://{cam}@127.0.0.1:{port}/snap.png",
    "http://{cam}:@127.0.0.1:{port}/snap.png",
    "http://127.0.0.1:{port}#@{cam}/snap.png",
    "http://127.0.0.1:{port}?@{cam}/snap.png",
    "http://127.0.0.1:{port}\\@{cam}/snap.png",
    "http://{cam}\\@127.0.0.1:{port}/snap.png",
    "  http://127.0.0.1:{port}/snap.png",
]
EVIL_URLS = EVIL_ADDRESSES + EVIL_TRICKS


def evil(template: str, net: Net) -> str:
    return template.format(port=net.port, cam=net.camera)


@pytest.mark.parametrize("template", EVIL_ADDRESSES)
def test_every_evil_address_really_reaches_the_evil_server(net: Net, template: str) -> None:
    """The control for the tests below: each address does lead to the evil server when nothing checks it."""
    url = evil(template, net)
    try:
        requests.get(url, timeout=2)
    except requests.RequestException as err:
        pytest.skip(f"{url} does not lead anywhere on this machine ({type(err).__name__})")
    assert net.evil_hits and not net.camera_hits


SSRF_MAP = """
attachment_hosts: ["{cam}"]
intents:
  LinkIntent:
    slots: {{Link: AMAZON.SearchQuery}}
    notify: {{message: "Snapshot", attachment: "{{{{ Link }}}}"}}
  CameraIntent:
    slots: {{Camera: AMAZON.SearchQuery}}
    notify: {{message: "Snapshot", attachment: "http://{{{{ Camera }}}}:{port}/snap.png"}}
  PathIntent:
    slots: {{Path: AMAZON.SearchQuery}}
    notify: {{message: "Snapshot", attachment: "http://{cam}/{{{{ Path }}}}"}}
"""


@pytest.fixture
def ssrf_service(net: Net, fake_pushover: FakePushover) -> Iterator[Service]:
    service = make_service(SSRF_MAP.format(cam=net.camera, port=net.port), fake_pushover)
    yield service
    service.close()


def sent_without_a_picture(result: Any, fake: FakePushover) -> None:
    (request,) = fake.requests_to("messages")
    assert request.files == {}
    assert result.outcomes[0].status == Status.ATTACHMENT_DROPPED
    assert "without the picture" in speech(result)


def test_the_allowed_camera_is_attached(ssrf_service: Service, net: Net, fake_pushover: FakePushover) -> None:
    result = run(ssrf_service, "LinkIntent", {"Link": f"http://{net.camera}/snap.png"})
    assert fake_pushover.last.files["attachment"][2] == PNG
    assert result.outcomes[0].status == Status.SENT
    assert net.camera_hits and not net.evil_hits


@pytest.mark.parametrize("template", EVIL_URLS)
def test_a_spoken_link_never_reaches_another_host(
    ssrf_service: Service, net: Net, fake_pushover: FakePushover, template: str
) -> None:
    result = run(ssrf_service, "LinkIntent", {"Link": evil(template, net)})
    sent_without_a_picture(result, fake_pushover)
    assert net.evil_hits == []


@pytest.mark.parametrize(
    "camera",
    ["127.0.0.1", "127.0.0.2", "localhost", "[::1]", "2130706433", "127.0.0.3@127.0.0.1", "127.0.0.1:{port}/x?",
     "127.0.0.1:{port}/snap.png#", "127.0.0.3:1@127.0.0.1"],
)  # fmt: skip
def test_a_spoken_host_inside_a_map_url_never_reaches_another_host(
    ssrf_service: Service, net: Net, fake_pushover: FakePushover, camera: str
) -> None:
    result = run(ssrf_service, "CameraIntent", {"Camera": camera.format(port=net.port)})
    sent_without_a_picture(result, fake_pushover)
    assert net.evil_hits == []


@pytest.mark.parametrize(
    "path",
    ["@127.0.0.1:{port}/snap.png", "../../127.0.0.1:{port}/snap.png", "\\@127.0.0.1:{port}/", "x\r\nHost: 127.0.0.1",
     "%2F%2F127.0.0.1:{port}/snap.png", "/127.0.0.1:{port}/snap.png", "redirect"],
)  # fmt: skip
def test_a_spoken_path_stays_on_the_allowed_camera(
    ssrf_service: Service, net: Net, fake_pushover: FakePushover, path: str
) -> None:
    net.camera_routes["/redirect"] = (302, f"http://127.0.0.1:{net.port}/snap.png")
    run(ssrf_service, "PathIntent", {"Path": path.format(port=net.port)})
    (request,) = fake_pushover.requests_to("messages")
    assert net.evil_hits == []
    if request.files:  # whatever the camera served for that path, it came from the camera
        assert all(hit.startswith("127.0.0.3 ") for hit in net.camera_hits)


@pytest.mark.parametrize("status", [302, 308])
@pytest.mark.parametrize("template", [t for t in EVIL_URLS if not t.startswith(" ")] + ["//127.0.0.1:{port}/snap.png"])
def test_a_redirect_from_the_allowed_camera_never_reaches_another_host(
    ssrf_service: Service, net: Net, fake_pushover: FakePushover, template: str, status: int
) -> None:
    net.camera_routes["/hop"] = (status, "/go")
    net.camera_routes["/go"] = (status, evil(template, net))
    result = run(ssrf_service, "LinkIntent", {"Link": f"http://{net.camera}/hop"})
    sent_without_a_picture(result, fake_pushover)
    assert net.evil_hits == []
    assert [hit.split()[1] for hit in net.camera_hits] == ["/hop", "/go"]


# --------------------------------------------------------------------------- local attachments

OUTSIDE_MARK = b"OUTSIDE-THE-ALLOWED-FOLDER"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """allowed/ (cat.png, a link to a file outside, a link to a folder outside), allowed-evil/, outside/."""
    allowed, outside, sibling = tmp_path / "allowed", tmp_path / "outside", tmp_path / "allowed-evil"
    for folder in (allowed, outside, sibling):
        folder.mkdir()
    (allowed / "cat.png").write_bytes(PNG)
    (outside / "secret.png").write_bytes(PNG + OUTSIDE_MARK)
    (sibling / "secret.png").write_bytes(PNG + OUTSIDE_MARK)
    (allowed / "link-out.png").symlink_to(outside / "secret.png")
    (allowed / "linkdir").symlink_to(outside, target_is_directory=True)
    (allowed / "relative-link.png").symlink_to(Path("..") / "outside" / "secret.png")
    return tmp_path


def local_map(allowed: Path) -> str:
    return f"""
attachment_dirs: ["{allowed}"]
intents:
  PictureIntent:
    slots: {{Name: AMAZON.SearchQuery}}
    notify: {{message: "Picture", attachment: "{allowed}/{{{{ Name }}}}"}}
  PathIntent:
    slots: {{Path: AMAZON.SearchQuery}}
    notify: {{message: "Picture", attachment: "{{{{ Path }}}}"}}
"""


NAMES = [
    "link-out.png", "relative-link.png", "linkdir/secret.png", "linkdir/../outside/secret.png",
    "../outside/secret.png", "./../outside/secret.png", "cat.png/../../outside/secret.png",
    "../allowed-evil/secret.png", "..//outside//secret.png", "%2e%2e/outside/secret.png", "..\\outside\\secret.png",
    "cat.png\x00/../../outside/secret.png", "../../../../../../../../proc/self/environ",
]  # fmt: skip
PATHS = [
    "{tmp}/outside/secret.png", "{tmp}/allowed/../outside/secret.png", "{tmp}/allowed-evil/secret.png",
    "{tmp}/allowed/linkdir/secret.png", "{tmp}/allowed/link-out.png", "//{tmp}/outside/secret.png",
    "/proc/self/root{tmp}/outside/secret.png", "/proc/self/cwd/../{tmp}/outside/secret.png", "/proc/self/environ",
    "/proc/self/fd/0", "/dev/zero", "file://{tmp}/outside/secret.png", "file://localhost{tmp}/outside/secret.png",
    "~/secret.png", "outside/secret.png", "{tmp}/allowed\x00/../outside/secret.png",
]  # fmt: skip


@pytest.fixture
def picture_service(files: Path, fake_pushover: FakePushover) -> Iterator[Service]:
    service = Service(parse(local_map(files / "allowed")), make_settings(fake_pushover))
    yield service
    service.close()


def test_a_picture_inside_the_allowed_folder_is_attached(picture_service: Service, fake_pushover: FakePushover):
    run(picture_service, "PictureIntent", {"Name": "cat.png"})
    assert fake_pushover.last.files["attachment"][2] == PNG


@pytest.mark.parametrize("name", NAMES)
def test_a_spoken_name_never_attaches_a_file_outside(
    picture_service: Service, fake_pushover: FakePushover, name: str
) -> None:
    result = run(picture_service, "PictureIntent", {"Name": name})
    sent_without_a_picture(result, fake_pushover)
    assert OUTSIDE_MARK not in fake_pushover.last.body


@pytest.mark.parametrize("path", PATHS)
def test_a_spoken_path_never_attaches_a_file_outside(
    picture_service: Service, fake_pushover: FakePushover, files: Path, path: str
) -> None:
    result = run(picture_service, "PathIntent", {"Path": path.format(tmp=files)})
    sent_without_a_picture(result, fake_pushover)
    assert OUTSIDE_MARK not in fake_pushover.last.body


def test_environment_secrets_never_travel_as_an_attachment(
    picture_service: Service, fake_pushover: FakePushover, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/proc/self/environ holds PUSHOVER_TOKEN in production; it must never be read as a picture."""
    monkeypatch.setenv("PUSHOVER_USER", USER)
    run(picture_service, "PathIntent", {"Path": "/proc/self/environ"})
    assert fake_pushover.last.files == {}
    assert fake_pushover.last.body.count(USER.encode()) == 1  # the user parameter, nothing else


def test_no_allowed_folder_means_no_local_file_at_all(files: Path, fake_pushover: FakePushover) -> None:
    text = local_map(files / "allowed").replace(f'attachment_dirs: ["{files / "allowed"}"]', "")
    service = make_service(text, fake_pushover)
    result = run(service, "PictureIntent", {"Name": "cat.png"})
    sent_without_a_picture(result, fake_pushover)
    service.close()
