"""A loopback stand-in for Alexa's certificate host (``https://s3.amazonaws.com/echo.api/...``).

``CertHost`` is a real HTTPS server on 127.0.0.1 (a self-signed certificate from tests/pki.py,
also valid for ``s3.amazonaws.com``) with programmable routes: a status and a body, sent at once
or dripped a few bytes at a time. Two ways to reach it:

- in this process, ``cert_host_session()``: a requests.Session whose transport sends
  ``https://s3.amazonaws.com/`` there and refuses every other URL;
- from a server in a child process, ``ConnectProxy``: an HTTP proxy on 127.0.0.1 that tunnels
  every CONNECT to the host (``HTTPS_PROXY`` for the child, and ``REQUESTS_CA_BUNDLE`` = the
  host's ``ca_file`` so the child trusts it as ``s3.amazonaws.com``). Nothing leaves loopback.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from tests.pki import make_tls_server_cert

CERT_HOST_PREFIX = "https://s3.amazonaws.com/"


@dataclass(frozen=True)
class Route:
    """What the host answers for one path; ``drip_s`` > 0 sends the body ``drip_bytes`` at a time."""

    status: int = 200
    body: bytes = b""
    drip_s: float = 0.0
    drip_bytes: int = 1
    #: Send a Content-Length header (of the real body).
    length: bool = True


class _Handler(BaseHTTPRequestHandler):
    server: CertHost

    def do_GET(self) -> None:
        host = self.server
        with host.lock:
            host.paths.append(self.path)
        route = host.routes.get(self.path, Route(404, b"<Error><Code>NoSuchKey</Code></Error>"))
        self.send_response(route.status)
        if 300 <= route.status < 400:
            self.send_header("Location", f"https://127.0.0.1:{host.server_port}/echo.api/moved.pem")
        if route.length:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if not route.drip_s:
            self.wfile.write(route.body)
            return
        # Dripped; bounded by the body's length and by the host stopping.
        for start in range(0, len(route.body), route.drip_bytes):
            if host.stopping.wait(route.drip_s):
                return
            try:
                self.wfile.write(route.body[start : start + route.drip_bytes])
                self.wfile.flush()
            except OSError:  # the client gave up: that is what the test wants
                return

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class CertHost(ThreadingHTTPServer):
    """The HTTPS server: ``routes[path] = Route(...)``; ``paths`` lists each path asked for."""

    daemon_threads = True

    def __init__(self, ca_file: str, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.ca_file = ca_file
        self.routes: dict[str, Route] = {}
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.server_port}"

    def reset(self, routes: dict[str, Route] | None = None) -> None:
        with self.lock:
            self.routes, self.paths = dict(routes or {}), []

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return len(self.paths) if path is None else self.paths.count(path)


@contextlib.contextmanager
def run_cert_host(directory: Path) -> Iterator[CertHost]:
    """Start a CertHost (its TLS files in ``directory``); stopped, dripping replies cut short, afterwards."""
    cert_pem, key_pem = make_tls_server_cert(dns_names=("localhost", "s3.amazonaws.com"))
    (directory / "server.pem").write_bytes(cert_pem)
    (directory / "server.key").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    host = CertHost(str(directory / "server.pem"), context)
    thread = threading.Thread(target=host.serve_forever, args=(0.05,), name="cert-host", daemon=True)
    thread.start()
    try:
        yield host
    finally:
        host.stopping.set()
        host.shutdown()
        host.server_close()
        thread.join()


class LocalS3Adapter(HTTPAdapter):
    """Transport for ``https://s3.amazonaws.com/``: sends the request to a local server instead."""

    def __init__(self, base_url: str, ca_file: str) -> None:
        super().__init__(max_retries=0)
        self.base_url = base_url
        self.ca_file = ca_file
        self.timeouts: list[object] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        assert request.url is not None and request.url.startswith(CERT_HOST_PREFIX), request.url
        self.timeouts.append(kwargs.get("timeout"))
        request.url = self.base_url + request.url[len(CERT_HOST_PREFIX) - 1 :]
        # requests chose proxies and TLS roots for s3.amazonaws.com (and REQUESTS_CA_BUNDLE from
        # the environment beats session.verify); this transport talks only to loopback.
        kwargs["proxies"] = {}
        kwargs["verify"] = self.ca_file
        return super().send(request, **kwargs)


class NoNetworkAdapter(BaseAdapter):
    """Transport for every other URL: refuses, so no test can reach the internet."""

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        raise requests.ConnectionError(f"tests never leave loopback: {request.url}")

    def close(self) -> None:
        """Nothing to close."""


def cert_host_session(base_url: str, ca_file: str) -> requests.Session:
    """A session that sends Alexa's certificate URLs to ``base_url`` and refuses any other URL."""
    session = requests.Session()
    session.mount("http://", NoNetworkAdapter())
    session.mount("https://", NoNetworkAdapter())
    session.mount(CERT_HOST_PREFIX, LocalS3Adapter(base_url, ca_file))
    session.verify = ca_file
    return session


def wait_until(predicate: object, timeout_s: float = 10.0) -> bool:
    """Poll ``predicate()`` every 10 ms for at most ``timeout_s``; its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = bool(predicate())  # type: ignore[operator]
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.01)


class _TunnelHandler(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            data = client.recv(4096)
            if not data:
                return
            head += data
        target = head.split(b" ", 2)[1].decode("ascii", "replace")
        with self.server.lock:
            self.server.targets.append(target)
        if not head.startswith(b"CONNECT "):
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(self.server.upstream, timeout=10) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(client, upstream, self.server.stopping)


def _relay(a: socket.socket, b: socket.socket, stopping: threading.Event) -> None:
    """Copy bytes both ways until either side closes or the proxy stops (any descriptor number: no select())."""
    peers = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while not stopping.is_set():
            for key, _ in selector.select(0.1):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    peers[sock].sendall(data)  # type: ignore[index]
                except OSError:
                    return


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy on 127.0.0.1 tunnelling every request to ``upstream``; ``targets``: what was asked for."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), _TunnelHandler)
        self.upstream = upstream
        self.targets: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def run_connect_proxy(upstream: tuple[str, int]) -> Iterator[ConnectProxy]:
    """Start a ConnectProxy to ``upstream``; stopped, tunnels closed, afterwards."""
    proxy = ConnectProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, args=(0.05,), name="connect-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.stopping.set()
        proxy.shutdown()
        proxy.server_close()
        thread.join()
