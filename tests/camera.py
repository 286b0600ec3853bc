"""A programmable HTTP "camera" on 127.0.0.1 for attachment tests (snapshots, redirects, streams).

The ``cameras`` fixture (tests/conftest.py) starts as many as a test needs and stops them after it.
"""

from __future__ import annotations

import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from skill import const

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)

Route = Callable[["CameraHandler"], None]


class CameraServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins handler threads: none outlives its test

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CameraHandler)
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.stop = threading.Event()
        self.stream_done = threading.Event()
        self.streamed = 0

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # HTTPServer's would look up a host name
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class CameraHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CameraServer

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        route = self.server.routes.get(urlsplit(self.path).path)
        try:
            if route is None:
                self.reply(404, b"not found", "text/plain")
            else:
                route(self)
        except ConnectionError:
            pass  # the client hung up, as it should when it refuses

    def reply(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "image/png",
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, content_type: str = "image/jpeg", chunked: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def image(body: bytes = PNG, content_type: str = "image/png") -> Route:
    return lambda h: h.reply(200, body, content_type)


def redirect(location: str, status: int = 302) -> Route:
    return lambda h: h.reply(status, b"", "text/plain", {"Location": location})


def stream(first: bytes, total: int, *, chunked: bool, block_size: int = 64 * 1024) -> Route:
    """Send ``first`` then zeros up to ``total`` bytes, no Content-Length; count what was written."""

    def route(h: CameraHandler) -> None:
        h.start_stream(chunked=chunked)
        try:
            data = first.ljust(block_size, b"\x00")
            while h.server.streamed < total and not h.server.stop.is_set():
                block = data[: total - h.server.streamed]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                h.server.streamed += len(block)
                data = bytes(block_size)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
        finally:
            h.server.stream_done.set()

    return route


def drip(h: CameraHandler) -> None:
    """A JPEG one byte at a time, each well inside the read timeout."""
    h.start_stream()
    for byte in JPEG:
        if h.server.stop.wait(0.05):
            return
        h.wfile.write(bytes([byte]))


def late_headers(h: CameraHandler) -> None:
    """A whole, valid picture, but only after 2 s: a loader that waits that long gets it."""
    if h.server.stop.wait(2):
        return
    h.send_response(200)
    h.send_header("Content-Type", "image/jpeg")
    h.send_header("Content-Length", str(len(JPEG)))
    h.end_headers()
    h.wfile.write(JPEG)


def declared_too_big(h: CameraHandler) -> None:
    """Headers promise more than the cap; the body never comes, so reading it would time out."""
    h.send_response(200)
    h.send_header("Content-Type", "image/jpeg")
    h.send_header("Content-Length", str(const.MAX_ATTACHMENT_BYTES + 1))
    h.end_headers()
    h.wfile.write(JPEG)
    h.server.stop.wait(5)


def run_cameras() -> Iterator[Callable[[], CameraServer]]:
    """Yield a function that starts a camera; stop every camera it started when resumed."""
    started: list[tuple[CameraServer, threading.Thread]] = []

    def start() -> CameraServer:
        server = CameraServer()
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()
