"""The HTTP server under the web app: hypercorn (asyncio), so that slow or idle clients lock nobody out.

Why hypercorn and not waitress (which served the app before): see README, "Dependencies".
In short, a connection here costs a coroutine, not a worker thread; the WSGI app runs in a
worker thread only once the whole request has arrived; and hypercorn has a public, graceful stop
(``serve(..., shutdown_trigger=...)``). The limits (docs/reliability.md has them as measured):

- a request head must be complete within ``HEAD_TIMEOUT_S`` of the connection opening (or of the
  previous answer on a kept-alive connection): hypercorn's keep-alive timer runs until a head
  is complete, so clients that send nothing or drip header lines are closed;
- a body must be complete within ``BODY_TIMEOUT_S`` (408 otherwise) and may not pause for more
  than ``READ_TIMEOUT_S``;
- a body over ``max_body_bytes`` is answered 413 without being read further;
- ``threads`` worker threads run the app, enough for every request Alexa may have in flight while
  Pushover is slow (a request waits at most about 6.5 s);
- no connection limit below the process's open-files limit, whose soft value is raised at start
  (``raise_open_files_limit``); asyncio polls with epoll/kqueue, so there is no 1,024-descriptor ceiling.

``WebServer`` binds at construction (``port=0`` picks a free port), serves in the thread that
calls ``serve()`` and stops from any thread with ``stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from . import const
from .errors import ConfigError

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Worker threads. A request may wait up to ~6.5 s on Pushover; 64 of those at once must not queue.
DEFAULT_THREADS: Final = 128
#: A request head (request line and headers) must be complete this long after the connection
#: opened or the previous answer went out; otherwise the connection is closed.
HEAD_TIMEOUT_S: Final = 10.0
#: A whole body must arrive within this (Alexa's are a few kB, sent at once).
BODY_TIMEOUT_S: Final = 10.0
#: The connection is closed when a read waits longer than this.
READ_TIMEOUT_S: Final = 10
#: How long a stop waits for requests in flight; Alexa gives up on an answer after about 8 s.
STOP_TIMEOUT_S: Final = 8.0
#: Soft limit of open files asked for at start (up to the hard limit): each connection is one.
WANTED_OPEN_FILES: Final = 65536
BACKLOG: Final = 1024
#: Bodies above this are refused here, unread; smaller ones over ``const.MAX_BODY_BYTES`` get the app's own 413.
DEFAULT_MAX_BODY_BYTES: Final = 8 * const.MAX_BODY_BYTES
TOO_LARGE_BODY: Final = f'{{"error": "the body is larger than {const.MAX_BODY_BYTES} bytes"}}'.encode()


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> int | None:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (never above the hard limit); the limit now in force."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as err:
            logger.warning("could not raise the open-files limit from %d to %d: %s", soft, target, err)
    return None if soft == resource.RLIM_INFINITY else soft


class WsgiBridge:
    """An ASGI app that reads a whole request (bounded in size and time), then runs a WSGI app in a thread pool.

    The response is collected in the worker thread and sent in one piece: the app's answers are
    small JSON documents.
    """

    def __init__(self, app: WSGIApp, executor: ThreadPoolExecutor, *, max_body_bytes: int, too_large: bytes) -> None:
        self.app = app
        self.executor = executor
        self.max_body_bytes = max_body_bytes
        self.too_large = too_large

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return  # a websocket handshake is refused by the server when the app does not accept it
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send, 413, self.too_large)
            return
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                body = await self._read_body(receive)
        except TimeoutError:
            await self._refuse(send, 408, b'{"error": "the body did not arrive in time"}')
            return
        if body is None:  # the client went away
            return
        if len(body) > self.max_body_bytes:
            await self._refuse(send, 413, self.too_large)
            return
        environ = _environ(scope, body)
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(self.executor, self._call, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _read_body(self, receive: Callable[..., Any]) -> bytes | None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes or not message.get("more_body"):
                return bytes(body)

    @staticmethod
    async def _refuse(send: Callable[..., Any], status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]  # fmt: skip
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run the WSGI app (in a worker thread); its status, headers and whole body."""
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [(status, headers)]
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started[0]
        encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return int(status.split(" ", 1)[0]), encoded, b"".join(chunks)


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of an ASGI HTTP scope whose whole body has been read."""
    server = scope.get("server") or ("localhost", 80)
    root = scope.get("root_path", "")
    path = scope["path"]
    path = path[len(root) :] if root and path.startswith(root) else path
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        # The body is complete (a chunked one de-chunked): reading to its end is safe.
        "wsgi.input_terminated": True,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = str(client[0]), str(client[1])
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in {"CONTENT_LENGTH", "CONTENT_TYPE"} else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class WebServer:
    """A WSGI app on hypercorn, bound at construction, serving in ``serve()``'s thread, stoppable from any thread."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        host: str,
        port: int,
        threads: int = DEFAULT_THREADS,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        too_large: bytes = TOO_LARGE_BODY,
    ) -> None:
        self._sock: socket.socket | None = bind(host, port)
        address = self._sock.getsockname()
        self.host: str = address[0]
        self.port: int = int(address[1])
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="skill-web")
        self._bridge = WsgiBridge(app, self._executor, max_body_bytes=max_body_bytes, too_large=too_large)
        self._lock = threading.Lock()
        self._state = "new"  # -> "serving" -> "stopped"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._stop_requested = False
        self._done = threading.Event()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:5000``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve(self) -> None:
        """Answer requests in this thread until ``stop()``."""
        with self._lock:
            if self._state != "new":
                return
            self._state = "serving"
        try:
            asyncio.run(self._main())
        finally:
            self._executor.shutdown(wait=True, cancel_futures=True)
            with self._lock:
                self._state = "stopped"
                if self._sock is not None:  # never handed to hypercorn
                    self._sock.close()
                    self._sock = None
            self._done.set()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop accepting, let the requests in flight answer (up to ``timeout``), close everything."""
        with self._lock:
            self._stop_requested = True
            state, loop, event = self._state, self._loop, self._stop_event
            if state == "new":
                self._state = "stopped"
                if self._sock is not None:
                    self._sock.close()
                    self._sock = None
                self._executor.shutdown(wait=False)
                self._done.set()
                return
            if loop is not None and event is not None:
                with contextlib.suppress(RuntimeError):  # the loop has closed already
                    loop.call_soon_threadsafe(event.set)
        if not self._done.wait(timeout + 2):
            logger.warning("the server did not stop within %.0f s", timeout)

    def __enter__(self) -> WebServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _main(self) -> None:
        event = asyncio.Event()
        with self._lock:
            self._loop, self._stop_event = asyncio.get_running_loop(), event
            if self._stop_requested:
                return
            assert self._sock is not None
            fd = self._sock.detach()  # hypercorn's socket object owns the descriptor from here on
            self._sock = None
        await hypercorn_serve(self._bridge, _config(fd), shutdown_trigger=event.wait, mode="asgi")


class _NoStartLine(logging.Filter):
    """Drops hypercorn's "Running on … (CTRL + C to quit)": ``serve`` has said where it listens, and how to stop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and str(record.msg).startswith("Running on "))


_HYPERCORN_LOG = logging.getLogger("hypercorn.error")
_HYPERCORN_LOG.addFilter(_NoStartLine())


def _config(fd: int) -> Config:
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.backlog = BACKLOG
    config.keep_alive_timeout = HEAD_TIMEOUT_S
    config.read_timeout = READ_TIMEOUT_S
    config.graceful_timeout = STOP_TIMEOUT_S
    config.include_server_header = False
    config.accesslog = None  # the app logs one line per request itself
    config.errorlog = _HYPERCORN_LOG
    return config


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host`` (its first address, IPv4 first, when a name has several)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ConfigError(f"cannot listen on {host}: {err.strerror}") from err
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if os.name == "posix":  # a restart need not wait for the old connections' TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


__all__ = ["DEFAULT_THREADS", "WebServer", "WsgiBridge", "bind", "raise_open_files_limit"]
