"""A fake Pushover API on 127.0.0.1 for tests and benchmarks.

It answers like Pushover by default (tokens, user and group keys, devices, sounds,
emergency receipts, ``X-Limit-App-*`` headers) and can be scripted to fail::

    with FakePushover() as fake:
        fake.enqueue(status=500)                 # the next request gets a 500
        fake.enqueue(delay=1.0)                  # then a normal answer, 1 s late
        fake.enqueue(close=True)                 # then a dropped connection
        fake.down()                              # every request gets a 503 until fake.up()
        fake.slow(5.0)                           # every request is accepted, but answered 5 s late
        fake.slow(None)                          # every request is accepted, never answered (a timeout)
        client = PushoverClient(fake.url)

Every request is recorded (``fake.requests``) with its parsed form and files, and
every accepted TCP connection is counted (``fake.connections``).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message as EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

#: Keys the fake accepts by default (30 characters of [A-Za-z0-9], like real ones).
TOKEN = "aFakeAppTokenQ7w3r9t1y5u2i8o4p"
USER = "uFakeUserKeyZ4x6c8v0b2n5m7a9s3"
GROUP = "gFakeGroupKeyK2j4h6g8f0d1s3a5l"
DEVICES: tuple[str, ...] = ("pixel3", "pixel4a", "iphone")
SOUNDS: Mapping[str, str] = {
    "pushover": "Pushover (default)",
    "bike": "Bike",
    "siren": "Siren",
    "none": "None (silent)",
    "doorbell": "Doorbell (custom)",
}
DEFAULT_LIMIT = 10_000
#: "Never" for slow(None): longer than any test runs.
_FOREVER_S = 3600.0

_RECEIPT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ROUTES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("messages", "POST", re.compile(r"^/1/messages\.json$")),
    ("validate", "POST", re.compile(r"^/1/users/validate\.json$")),
    ("sounds", "GET", re.compile(r"^/1/sounds\.json$")),
    ("cancel_by_tag", "POST", re.compile(r"^/1/receipts/cancel_by_tag/(?P<arg>[^/]+)\.json$")),
    ("cancel_receipt", "POST", re.compile(r"^/1/receipts/(?P<arg>[^/]+)/cancel\.json$")),
    ("receipt", "GET", re.compile(r"^/1/receipts/(?P<arg>[^/]+)\.json$")),
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    endpoint: str | None
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    files: dict[str, tuple[str | None, str | None, bytes]]
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True)
class Reply:
    """A scripted reply; ``status=None`` means "answer as Pushover would" (after ``delay``)."""

    status: int | None = None
    body: bytes | None = None
    json_body: Any = None
    errors: tuple[str, ...] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0
    close: bool = False
    endpoint: str | None = None


@dataclass
class _Answer:
    status: int
    payload: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def closed_port() -> str:
    """An API base URL on 127.0.0.1 at a port where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/1"


def parse_form(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str | None, str | None, bytes]]]:
    """Form fields and files of a urlencoded or multipart/form-data body."""
    if content_type.lower().startswith("multipart/"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        envelope = BytesParser(policy=HTTP).parsebytes(head + body)
        form: dict[str, str] = {}
        files: dict[str, tuple[str | None, str | None, bytes]] = {}
        for part in envelope.iter_parts():
            assert isinstance(part, EmailMessage)
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            filename = part.get_filename()
            if filename is None:
                form[name] = data.decode(part.get_content_charset() or "utf-8")
            else:
                ctype = part.get("Content-Type")
                files[name] = (filename, str(ctype) if ctype is not None else None, data)
        return form, files
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}


class FakePushover:
    """A fake Pushover API server in a daemon thread; see the module docstring."""

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (TOKEN,),
        users: Mapping[str, Iterable[str]] | None = None,
        groups: Iterable[str] = (GROUP,),
        sounds: Mapping[str, str] = SOUNDS,
        limit: int = DEFAULT_LIMIT,
        remaining: int | None = None,
        reset: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.tokens: set[str] = set(tokens)
        self.users: dict[str, list[str]] = {
            key: list(devices) for key, devices in (users if users is not None else {USER: DEVICES}).items()
        }
        self.groups: set[str] = set(groups)
        self.sounds: dict[str, str] = dict(sounds)
        self.limit = limit
        self.remaining = limit if remaining is None else remaining
        self.reset = reset if reset is not None else int(time.time()) + 30 * 86400
        #: receipt -> {"tags", "canceled", "sent_at", "expires_at", "callback", "acknowledged_*", "expired"}
        self.receipts: dict[str, dict[str, Any]] = {}
        self._queue: deque[Reply] = deque()
        self._down: Reply | None = None
        self._slow = 0.0
        self._unstall = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._connections = 0
        self._live: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------

    def start(self) -> FakePushover:
        """Listen on 127.0.0.1 at a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-pushover", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and wait for handler threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a scripted delay
        server.shutdown()
        with self._lock:
            live = list(self._live)
        for sock in live:  # unblocks handlers waiting on an idle keep-alive connection
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> FakePushover:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakePushover is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The API base URL, like ``https://api.pushover.net/1``."""
        return f"http://127.0.0.1:{self.port}/1"

    # -- scripting -------------------------------------------------------

    def enqueue(
        self,
        *,
        status: int | None = None,
        body: bytes | None = None,
        json: Any = None,
        errors: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
        delay: float = 0.0,
        close: bool = False,
        endpoint: str | None = None,
        times: int = 1,
    ) -> None:
        """Script the reply to the next request (to ``endpoint`` only, if given), ``times`` times.

        ``status`` alone gives a Pushover-shaped JSON body (``errors`` for a 4xx);
        ``body`` or ``json`` replace the body; ``delay`` waits before answering;
        ``close`` drops the connection without an answer.
        """
        if endpoint is not None and endpoint not in {name for name, _, _ in _ROUTES}:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        reply = Reply(
            status=status,
            body=body,
            json_body=json,
            errors=tuple(errors) if errors is not None else None,
            headers=dict(headers or {}),
            content_type=content_type,
            delay=delay,
            close=close,
            endpoint=endpoint,
        )
        with self._lock:
            self._queue.extend([reply] * times)

    def down(self, *, status: int = 503, close: bool = False) -> None:
        """Fail every request (an HTML 503, or a dropped connection) until :meth:`up`."""
        body = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
        with self._lock:
            self._down = Reply(status=status, body=body, content_type="text/html", close=close)

    def slow(self, delay: float | None) -> None:
        """Accept and answer every request as Pushover would, but ``delay`` seconds late, until :meth:`up`.

        ``None`` never answers (until :meth:`up` or :meth:`stop`): a Pushover that times out.
        The request counts as received (and a message as delivered) when it arrives.
        """
        with self._lock:
            self._slow = _FOREVER_S if delay is None else delay

    def up(self) -> None:
        """Answer normally and at once again after :meth:`down` or :meth:`slow`."""
        with self._lock:
            self._down = None
            self._slow = 0.0
        self._unstall.set()
        self._unstall = threading.Event()

    def reset_records(self) -> None:
        """Forget recorded requests and the connection count (scripted replies stay)."""
        with self._lock:
            self._requests.clear()
            self._connections = 0

    # -- inspection ------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """The requests received by one endpoint ("messages", "validate", "sounds", ...)."""
        return [r for r in self.requests if r.endpoint == endpoint]

    @property
    def last(self) -> RecordedRequest:
        """The most recent request."""
        with self._lock:
            return self._requests[-1]

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted."""
        with self._lock:
            return self._connections

    @property
    def pending_replies(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    # -- called from handler threads -------------------------------------

    def _accepted(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections += 1
            self._live.add(sock)

    def _finished(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _stall(self, seconds: float, unstall: threading.Event) -> None:
        """Wait ``seconds``, or until up() or stop()."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and not unstall.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            unstall.wait(min(left, 0.05))

    def _handle(self, request: RecordedRequest, arg: str | None) -> tuple[Reply | None, _Answer | None]:
        """Record ``request`` and decide: the scripted reply (if any) and the answer to send."""
        with self._lock:
            self._requests.append(request)
            scripted = self._down or self._take_scripted(request.endpoint)
            slow, unstall = self._slow, self._unstall
        if scripted is None and slow:
            self._stall(slow, unstall)
        if scripted is not None and scripted.close:
            return scripted, None
        if scripted is not None and scripted.delay:
            self._wait(scripted.delay)
        if scripted is not None and scripted.status is not None:
            return scripted, self._scripted_answer(request, scripted)
        return scripted, self._default_answer(request, arg)

    def _take_scripted(self, endpoint: str | None) -> Reply | None:
        for i, reply in enumerate(self._queue):
            if reply.endpoint is None or reply.endpoint == endpoint:
                del self._queue[i]
                return reply
        return None

    def _scripted_answer(self, request: RecordedRequest, reply: Reply) -> _Answer:
        assert reply.status is not None
        if reply.body is not None:
            payload = reply.body
        elif reply.json_body is not None:
            payload = json.dumps(reply.json_body).encode()
        elif 200 <= reply.status < 300:
            payload = _dump({"status": 1, "request": _request_id()})
        else:
            errors = list(reply.errors) if reply.errors is not None else [_reason(reply.status)]
            payload = _dump({"status": 0, "errors": errors, "request": _request_id()})
        headers: dict[str, str] = {}
        if request.endpoint == "messages":
            headers.update(self._limit_headers(remaining=0 if reply.status == 429 else None))
        headers.update(reply.headers)
        return _Answer(reply.status, payload, reply.content_type, headers)

    def _limit_headers(self, *, spend: bool = False, remaining: int | None = None) -> dict[str, str]:
        with self._lock:
            if spend:
                self.remaining = max(self.remaining - 1, 0)
            left = self.remaining if remaining is None else remaining
            return {
                "X-Limit-App-Limit": str(self.limit),
                "X-Limit-App-Remaining": str(left),
                "X-Limit-App-Reset": str(self.reset),
            }

    def _default_answer(self, request: RecordedRequest, arg: str | None) -> _Answer:
        fields = {**request.query, **request.form}
        if request.endpoint is None:
            allowed = [m for name, m, rx in _ROUTES if rx.match(request.path)]
            if allowed:
                return _error(405, ["method not allowed"], headers={"Allow": allowed[0]})
            return _error(404, ["not found"])
        with self._lock:
            token_ok = fields.get("token") in self.tokens
        if not token_ok:
            return _error(400, ["application token is invalid"], token="invalid")
        handler = getattr(self, f"_answer_{request.endpoint}")
        answer: _Answer = handler(request, fields, arg)
        return answer

    def _answer_messages(self, request: RecordedRequest, fields: dict[str, str], arg: str | None) -> _Answer:
        user = fields.get("user", "")
        with self._lock:
            known = all(key in self.users or key in self.groups for key in user.split(",") if key) and bool(user)
        problems: dict[str, str] = {}
        errors: list[str] = []
        if not known:
            problems["user"] = "invalid"
            errors.append("user identifier is not a valid user, group, or subscribed user key")
        if not fields.get("message", "").strip():
            problems["message"] = "cannot be blank"
            errors.append("message cannot be blank")
        priority = fields.get("priority", "0")
        if priority == "2":
            if not fields.get("retry"):
                problems["retry"] = "must be supplied with priority=2"
                errors.append("retry parameter is required for emergency-priority notifications")
            if not fields.get("expire"):
                problems["expire"] = "must be supplied with priority=2"
                errors.append("expire parameter is required for emergency-priority notifications")
        if errors:
            return _error(400, errors, headers=self._limit_headers(), **problems)
        reply: dict[str, Any] = {"status": 1, "request": _request_id()}
        if priority == "2":
            receipt = "".join(random.choices(_RECEIPT_CHARS, k=30))
            tags = {t.strip() for t in fields.get("tags", "").split(",") if t.strip()}
            now = int(time.time())
            expire = int(fields["expire"]) if fields.get("expire", "").isdigit() else 0
            with self._lock:
                self.receipts[receipt] = {
                    "tags": tags, "canceled": False, "sent_at": now, "expires_at": now + expire,
                    "callback": fields.get("callback") or None, "acknowledged_at": 0, "acknowledged_by": "",
                    "acknowledged_by_device": "", "expired": False,
                }  # fmt: skip
            reply["receipt"] = receipt
        return _Answer(200, _dump(reply), headers=self._limit_headers(spend=True))

    def _answer_validate(self, request: RecordedRequest, fields: dict[str, str], arg: str | None) -> _Answer:
        user = fields.get("user", "")
        device = fields.get("device") or None
        with self._lock:
            is_group = user in self.groups
            devices = list(self.users.get(user, []))
            known = is_group or user in self.users
        if not known:
            return _error(400, ["user identifier is not a valid user, group, or subscribed user key"], user="invalid")
        if is_group:
            return _ok({"group": 1, "devices": [], "licenses": []})
        if device is not None and device not in devices:
            return _error(400, ["device name is not valid for user"], device="invalid for this user")
        return _ok({"group": 0, "devices": devices, "licenses": ["Android", "iOS"]})

    def _answer_sounds(self, request: RecordedRequest, fields: dict[str, str], arg: str | None) -> _Answer:
        with self._lock:
            sounds = dict(self.sounds)
        return _ok({"sounds": sounds})

    def _answer_cancel_by_tag(self, request: RecordedRequest, fields: dict[str, str], arg: str | None) -> _Answer:
        tag = unquote(arg or "")
        canceled = 0
        with self._lock:
            for receipt in self.receipts.values():
                if tag in receipt["tags"] and not receipt["canceled"]:
                    receipt["canceled"] = True
                    canceled += 1
        return _ok({"canceled": canceled})

    def _answer_cancel_receipt(self, request: RecordedRequest, fields: dict[str, str], arg: str | None) -> _Answer:
        with self._lock:
            receipt = self.receipts.get(unquote(arg or ""))
            if receipt is not None:
                receipt["canceled"] = True
        if receipt is None:
            return _error(400, ["receipt not found; may be invalid or expired"], receipt="not found")
        return _ok({})

    def _answer_receipt(self, request: RecordedRequest, fields: dict[str, str], arg: str | None) -> _Answer:
        with self._lock:
            found = self.receipts.get(unquote(arg or ""))
            receipt = dict(found) if found is not None else None
        if receipt is None:
            return _error(400, ["receipt not found; may be invalid or expired"], receipt="not found")
        now = int(time.time())
        acknowledged = bool(receipt["acknowledged_at"])
        expired = not acknowledged and (receipt["canceled"] or receipt["expired"] or now >= receipt["expires_at"])
        return _ok(
            {
                "acknowledged": int(acknowledged),
                "acknowledged_at": receipt["acknowledged_at"],
                "acknowledged_by": receipt["acknowledged_by"],
                "acknowledged_by_device": receipt["acknowledged_by_device"],
                "last_delivered_at": receipt["sent_at"],
                "expired": int(expired),
                "expires_at": receipt["expires_at"],
                "called_back": 0,
                "called_back_at": 0,
            }
        )

    # -- what people do with an emergency alert ----------------------------

    def acknowledge(self, receipt: str, *, user: str = USER, device: str = "pixel3", at: int | None = None) -> dict:
        """Someone taps "acknowledge": the receipt says so from now on. The form Pushover posts to the callback."""
        moment = int(time.time()) if at is None else at
        with self._lock:
            entry = self.receipts[receipt]
            if not entry["acknowledged_at"]:
                entry.update(acknowledged_at=moment, acknowledged_by=user, acknowledged_by_device=device)
            entry = dict(entry)
        return {
            "receipt": receipt,
            "acknowledged": "1",
            "acknowledged_at": str(entry["acknowledged_at"]),
            "acknowledged_by": entry["acknowledged_by"],
            "acknowledged_by_device": entry["acknowledged_by_device"],
        }

    def expire(self, receipt: str) -> None:
        """The alert runs out unacknowledged (as if ``expire`` seconds had passed)."""
        with self._lock:
            self.receipts[receipt].update(expired=True, expires_at=int(time.time()) - 1)


def _request_id() -> str:
    return str(uuid.uuid4())


def _dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _ok(fields: dict[str, Any]) -> _Answer:
    return _Answer(200, _dump({"status": 1, **fields, "request": _request_id()}))


def _error(status: int, errors: list[str], *, headers: dict[str, str] | None = None, **problems: str) -> _Answer:
    body = {**problems, "errors": errors, "status": 0, "request": _request_id()}
    return _Answer(status, _dump(body), headers=dict(headers or {}))


def _reason(status: int) -> str:
    if status == 429:
        return "application has exceeded its message limit"
    if status >= 500:
        return "internal server error"
    return "invalid request"


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins handlers, so stop() leaves no thread behind
    block_on_close = True
    # Many sends at once (tests of the deadline): a full backlog would drop connects, and the
    # client's SYN retry 1 s later would look like a slow Pushover.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakePushover) -> None:
        self.fake = fake
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.fake._accepted(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.fake._finished(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (read timeout, closed session) is expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so tests can count connections
    server_version = "FakePushover/1.0"
    timeout = 30  # an idle keep-alive connection is dropped after this
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to each reply.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        form, files = parse_form(self.headers.get("Content-Type", ""), body) if body else ({}, {})
        endpoint, arg = None, None
        for name, method, rx in _ROUTES:
            match = rx.match(split.path)
            if match and method == self.command:
                endpoint, arg = name, match.groupdict().get("arg")
                break
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            endpoint=endpoint,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            form=form,
            files=files,
            body=body,
        )
        _, answer = self.server.fake._handle(request, arg)
        if answer is None:
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.payload)
