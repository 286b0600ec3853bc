"""Row "lockout": a signed request on a new connection while 1,000 hostile connections are open.

For each kind of crowd (idle: connected, nothing sent; drip: one header line every 2 s; stalled
body: head and a few body bytes, then nothing) and each server (ours: ``python -m skill serve``
with verification on; previous: the same app on waitress as ``serve`` ran it before), the crowd
is opened, then ``probes`` signed LocateIntent requests are sent one after another, each on a new
connection with a ``timeout_s`` limit; then the crowd goes and one more request shows whether the
server recovered by itself. Reported: answered probes and the slowest answer. Everything stays on
127.0.0.1 and every socket is closed.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import Figure
from bench.load import FakeProcess, Request, ServerProcess, bench_server_argv, ours_argv
from bench.serving import PREVIOUS_THREADS, signed_locate_requests, verified_env

MODES = ("idle", "drip", "stalled-body")
HEAD = b"POST /alexa HTTP/1.1\r\nHost: skill\r\nContent-Type: application/json\r\n"


@contextlib.contextmanager
def crowd(port: int, n: int, mode: str) -> Iterator[list[socket.socket]]:
    """``n`` open connections of one kind; a drip thread while it lasts (at most 120 s); all closed after."""
    socks: list[socket.socket] = []
    stop = threading.Event()

    def drip() -> None:
        for i in range(60):
            if stop.wait(2.0):
                return
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Drip-%d: 1\r\n" % i)

    dripper = threading.Thread(target=drip, daemon=True)
    try:
        for _ in range(n):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            socks.append(sock)
            if mode == "drip":
                sock.sendall(HEAD)
            elif mode == "stalled-body":
                sock.sendall(HEAD + b"Content-Length: 4000\r\n\r\n" + b'{"version": "1.0", ')
        if mode == "drip":
            dripper.start()
        time.sleep(0.5)  # the server has them all (accepted, or in its backlog)
        yield socks
    finally:
        stop.set()
        if dripper.is_alive():
            dripper.join(timeout=10)
        for sock in socks:
            sock.close()


def probe(port: int, request: Request, timeout_s: float) -> float | None:
    """Milliseconds until a 200 on a new connection; None if there was none within ``timeout_s``."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("POST", "/alexa", body=request.body, headers=dict(request.headers))
        response = conn.getresponse()
        response.read()
        return (time.perf_counter() - started) * 1000 if response.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def measure_lockout(n: int = 1000, probes: int = 3, timeout_s: float = 5.0) -> list[Figure]:
    """Answered probes and the slowest answer, per crowd kind, for ours and the previous server."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-lockout-") as tmp, FakeProcess() as fake:
        workdir = Path(tmp)
        test_pki, env = verified_env(fake.url, workdir)
        servers = {
            # ours through bench.server, for the chain from a file; it runs the same WebServer as serve.
            "ours": bench_server_argv("ours", _ours_threads()),
            "previous": bench_server_argv("previous", PREVIOUS_THREADS),
        }
        results: dict[str, dict[str, dict]] = {}
        for name, argv in servers.items():
            results[name] = {}
            with ServerProcess(argv, env, workdir / f"{name}.log", name=name) as server:
                for mode in MODES:
                    requests = signed_locate_requests(test_pki, probes + 1)
                    with crowd(server.port, n, mode):
                        answers = [probe(server.port, r, timeout_s) for r in requests[:probes]]
                    time.sleep(1.0)  # the server sees the crowd go
                    after = probe(server.port, requests[probes], timeout_s * 2)
                    answered = [a for a in answers if a is not None]
                    results[name][mode] = {
                        "answered": len(answered), "probes": probes,
                        "slowest_ms": round(max(answered), 1) if answered else None,
                        "answers_ms": [None if a is None else round(a, 1) for a in answers],
                        "recovered": after is not None,
                    }  # fmt: skip
    for mode in MODES:
        ours, previous = results["ours"][mode], results["previous"][mode]
        extra = {"n": n, "timeout_s": timeout_s, "ours": ours, "previous": previous, "ours_argv": ours_argv()}
        name = f"{n} {mode} connections"
        figures += [
            Figure("lockout", f"{name}: answered (ours / previous {previous['answered']})", "count",
                   float(ours["answered"]), goal=("==", probes), extra=extra),
            Figure("lockout", f"{name}: slowest answer", "ms", ours["slowest_ms"], goal=("value<", 1000.0)),
            Figure("lockout", f"{name}: recovered after (ours / previous {int(previous['recovered'])})", "count",
                   float(ours["recovered"]), goal=("==", 1)),
        ]  # fmt: skip
    return figures


def _ours_threads() -> int:
    from skill.server import DEFAULT_THREADS

    return int(DEFAULT_THREADS)
