"""Rows "http" and "load": POST /alexa through the real server, with the fake Pushover on loopback.

The goals hold ours against anchor (a) on the same server settings: bench/anchor_flask.py on our
``WebServer`` (hypercorn, ``serve``'s worker threads). Reported beside them, without a goal:
anchor (a) on waitress with 4 threads, as it ran before ``serve`` moved to hypercorn (so the
server's own cost shows), and our app on that waitress ("previous").
"""

from __future__ import annotations

import contextlib
import functools
import json
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.dispatch import EXAMPLE_MAP
from bench.harness import Figure, interleave, median
from bench.load import (
    FakeProcess,
    LoadResult,
    Request,
    ServerProcess,
    bench_server_argv,
    ours_argv,
    run_load,
    server_env,
)

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


def locate_requests(n: int) -> list[Request]:
    """``n`` LocateIntent requests for User=Paulus, each with its own request id."""
    from skill.alexa import build_request_envelope

    now = time.time()
    return [
        Request(
            json.dumps(build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, now=now)).encode()
        )
        for _ in range(n)
    ]


#: What ``serve`` ran waitress with before hypercorn; anchor (a) on waitress and "previous" keep it.
PREVIOUS_THREADS = 4


def server_threads() -> int:
    """The worker threads ``serve`` runs the app in."""
    from skill.server import DEFAULT_THREADS

    return int(DEFAULT_THREADS)


def _pushover_env(fake_url: str, workdir: Path) -> dict[str, str]:
    from tests.fake_pushover import TOKEN, USER

    return server_env(
        PUSHOVER_API_URL=fake_url, PUSHOVER_TOKEN=TOKEN, PUSHOVER_USER=USER, INTENT_MAP=str(EXAMPLE_MAP),
        OUTBOX_PATH=str(workdir / "outbox.sqlite3"),
    )  # fmt: skip


#: The sides of the HTTP rows: (bench.server kind, worker threads, server) for all but ours.
SIDES: dict[str, tuple[str, int, str]] = {
    "anchor": ("anchor", 0, "hypercorn"),  # 0: serve's own thread count
    "anchor_waitress": ("anchor", PREVIOUS_THREADS, "waitress"),
    "previous": ("previous", PREVIOUS_THREADS, "waitress"),
    "bare": ("bare", 0, "hypercorn"),
}


@contextlib.contextmanager
def http_servers(
    fake_url: str, workdir: Path, sides: Sequence[str] = tuple(SIDES)
) -> Iterator[dict[str, ServerProcess]]:
    """ours (``python -m skill serve --no-verify``) and the ``sides`` of ``SIDES``, started, stopped at the end."""
    env = _pushover_env(fake_url, workdir)
    servers = {"ours": ServerProcess(ours_argv("--no-verify"), env, workdir / "ours.log", name="ours")}
    for side in sides:
        kind, threads, on = SIDES[side]
        argv = bench_server_argv(kind, threads or server_threads(), on)
        side_env = {**env, "ALEXA_VERIFY": "0"} if kind == "previous" else env
        servers[side] = ServerProcess(argv, side_env, workdir / f"{side}.log", name=side)
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@dataclass
class Run:
    """One load run against one server: what the client saw, what the fake got, what the server burnt."""

    result: LoadResult
    notifications: int
    server_cpu_ms_per_req: float | None


def _run_counted(fake: FakeProcess, server: ServerProcess, requests: Sequence[Request], concurrency: int) -> Run:
    """One load run, how many notifications the fake received during it, and the server's CPU per request."""
    fake.reset()
    cpu_before = server.cpu_s()
    result = run_load(server.port, requests, concurrency)
    cpu_after = server.cpu_s()
    cpu = None
    if cpu_before is not None and cpu_after is not None and result.ok:
        cpu = (cpu_after - cpu_before) / result.ok * 1000
    return Run(result, fake.stats()["messages"], cpu)


def measure_http(n_by_concurrency: dict[int, int] | None = None, repeats: int = 5, warmup: int = 50) -> list[Figure]:
    """Throughput and p50/p99 of ours, anchor (a) and bare (b) at each concurrency, interleaved."""
    n_by_concurrency = n_by_concurrency or {1: 300, 8: 600}
    threads = server_threads()
    figures: list[Figure] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-http-") as tmp,
        FakeProcess() as fake,
        http_servers(fake.url, Path(tmp)) as servers,
    ):
        for server in servers.values():  # first requests import lazily and open the Pushover connection
            run_load(server.port, locate_requests(warmup), 2)
        for concurrency, n in n_by_concurrency.items():
            requests = locate_requests(n)
            measures = {
                name: functools.partial(_run_counted, fake, server, requests, concurrency)
                for name, server in servers.items()
            }
            figures.extend(_http_figures(interleave(measures, repeats), concurrency, n, repeats, threads))
        for name, server in servers.items():
            log = server.log_text()
            if "Traceback" in log:
                figures[0].extra.setdefault("server_log_tail", {})[name] = log[-2000:]
                figures[0].extra["warning"] = f"the {name} server logged a traceback (results.json: server_log_tail)"
    return figures


ANCHOR_A = "bench/anchor_flask.py (a): Flask + ask-sdk-core + requests.Session, on our WebServer as serve runs it"
ANCHOR_A_WAITRESS = "bench/anchor_flask.py (a) on waitress, 4 threads, as it ran before serve moved to hypercorn"
ANCHOR_B = "bench/anchor_flask.py (b): bare Flask route, canned response, on our WebServer"
PREVIOUS = "our app on waitress as serve ran it before (4 threads, waitress defaults)"


def _http_figures(runs: dict[str, list[Run]], concurrency: int, n: int, repeats: int, threads: int) -> list[Figure]:
    def series(name: str, attr: str) -> list[float]:
        return [float(getattr(run.result, attr)) for run in runs[name]]

    extra = {
        "n": n, "concurrency": concurrency, "repeats": repeats, "server_threads": threads,
        "previous_threads": PREVIOUS_THREADS,
        "runs": {
            name: [dict(r.result.summary(), notifications=r.notifications, server_cpu_ms=r.server_cpu_ms_per_req)
                   for r in runs[name]]
            for name in runs
        },
        "errors": {name: sum(r.result.errors for r in runs[name]) for name in runs},
        "notifications_match": all(r.notifications == r.result.ok for name in runs if name != "bare"
                                   for r in runs[name]),
    }  # fmt: skip
    if any(extra["errors"].values()) or not extra["notifications_match"]:
        extra["warning"] = (
            f"c={concurrency}: errors {extra['errors']}; every 200 notified: {extra['notifications_match']}"
        )
    tp = {name: series(name, "throughput") for name in runs}
    p50 = {name: series(name, "p50_ms") for name in runs}
    p99 = {name: series(name, "p99_ms") for name in runs}
    cpu = {name: [r.server_cpu_ms_per_req for r in runs[name] if r.server_cpu_ms_per_req is not None] for name in runs}
    c = f"c={concurrency}"

    def figure(what: str, unit: str, data: dict[str, list[float]], other: str, anchor: str, **kw: object) -> Figure:
        return Figure("http", f"HTTP {c} {what}", unit, median(data["ours"]), median(data[other]), anchor,
                      samples={"ours": data["ours"], other: data[other]}, **kw)  # type: ignore[arg-type]  # fmt: skip

    figures = [
        figure("throughput", "req/s", tp, "anchor", ANCHOR_A, goal=(">=", 0.9), better="higher", extra=extra),
        figure("p50", "ms", p50, "anchor", ANCHOR_A),
        figure("p99", "ms", p99, "anchor", ANCHOR_A, goal=("<=", 1.2)),
    ]
    if cpu["ours"] and cpu["anchor"]:
        figures.append(figure("server CPU", "ms/req", cpu, "anchor", ANCHOR_A))
    if "anchor_waitress" in runs:
        figures += [
            figure("throughput vs anchor on waitress", "req/s", tp, "anchor_waitress", ANCHOR_A_WAITRESS,
                   better="higher"),
            figure("p99 vs anchor on waitress", "ms", p99, "anchor_waitress", ANCHOR_A_WAITRESS),
        ]  # fmt: skip
        if cpu["ours"] and cpu["anchor_waitress"]:
            figures.append(figure("server CPU vs anchor on waitress", "ms/req", cpu, "anchor_waitress",
                                  ANCHOR_A_WAITRESS))  # fmt: skip
    if "previous" in runs:
        figures += [
            figure("throughput vs previous server", "req/s", tp, "previous", PREVIOUS, better="higher"),
            figure("p99 vs previous server", "ms", p99, "previous", PREVIOUS),
        ]
    if "bare" in runs:
        bare = {"bare_p50_ms": median(p50["bare"]), "bare_p99_ms": median(p99["bare"])}
        figures.append(figure("throughput vs bare", "req/s", tp, "bare", ANCHOR_B, better="higher", extra=bare))
    return figures


def signed_locate_requests(test_pki: object, n: int) -> list[Request]:
    """``n`` LocateIntent requests for this skill id, each signed by the test PKI's leaf."""
    from skill.alexa import build_request_envelope

    requests = []
    for _ in range(n):
        envelope = build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, application_id=SKILL_ID)
        headers, body = test_pki.signed_request(envelope)  # type: ignore[attr-defined]
        requests.append(Request(body, headers))
    return requests


def verified_env(fake_url: str, workdir: Path) -> tuple[Any, dict[str, str]]:
    """A test PKI made in ``workdir`` and the environment of a server that verifies requests signed by it.

    The skill id is set, the test root is the CA bundle, and ``bench.server`` reads the certificate
    chain from a file (``BENCH_CHAIN_PEM``) instead of fetching it.
    """
    from bench.signature import make_test_pki

    test_pki = make_test_pki(workdir)
    chain_path = workdir / "chain.pem"
    chain_path.write_bytes(test_pki.chain_pem)
    env = _pushover_env(fake_url, workdir)
    env.update(ALEXA_SKILL_ID=SKILL_ID, ALEXA_VERIFY="1", ALEXA_CA_BUNDLE=str(test_pki.root_path),
               BENCH_CHAIN_PEM=str(chain_path))  # fmt: skip
    return test_pki, env


def measure_load(n: int = 2000, concurrency: int = 16) -> list[Figure]:
    """``n`` signed requests at ``concurrency`` through ``serve`` with verification on; count at the fake."""
    threads = server_threads()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp, FakeProcess() as fake:
        workdir = Path(tmp)
        test_pki, env = verified_env(fake.url, workdir)
        argv = bench_server_argv("ours", threads)
        with ServerProcess(argv, env, workdir / "verified.log", name="ours-verified") as server:
            run_load(server.port, signed_locate_requests(test_pki, 20), 2)  # warm: chain fetched, pools open
            requests = signed_locate_requests(test_pki, n)  # signed up front: the client only sends
            fake.reset()
            result = run_load(server.port, requests, concurrency)
            stats = fake.stats()
            received, connections = stats["messages"], stats["connections"]
            log = server.log_text()
    extra = {
        "n": n, "concurrency": concurrency, "server_threads": threads, **result.summary(),
        "statuses": result.statuses, "pushover_connections": connections,
        "refusals_logged": log.count("refused "),
    }  # fmt: skip
    name = f"load {n} signed @ c={concurrency}"
    return [
        Figure("load", f"{name}: errors", "count", float(result.errors), goal=("==", 0), extra=extra),
        Figure("load", f"{name}: notifications", "count", float(received), goal=("==", n)),
        Figure("load", f"{name}: throughput", "req/s", result.throughput, better="higher"),
        Figure("load", f"{name}: p50", "ms", result.p50_ms),
        Figure("load", f"{name}: p99", "ms", result.p99_ms),
    ]
