"""A server process for the HTTP rows and profiles: ``python -m bench.server KIND --threads N [--profile PATH]``.

KIND is ``anchor`` or ``bare`` (bench/anchor_flask.py on plain waitress, or with ``--on hypercorn``
on our ``WebServer`` with the same settings as ``serve``), ``ours``: our
``create_app()`` on our ``WebServer`` (hypercorn), as ``serve`` builds them from the environment,
or ``previous``: the same app on waitress as ``serve`` ran it before (waitress's defaults: 100
connections, 120 s idle timeout), to compare servers. With ``BENCH_CHAIN_PEM`` set the verifier's
certificate fetch reads that file instead of Amazon's S3. (The HTTP row runs the real
``python -m skill serve --no-verify`` as ours.)

``--profile PATH`` runs every request under cProfile (one profiler per worker thread, wall
clock) and writes the merged stats to PATH when the server stops.

Prints ``serving http://HOST:PORT`` to stderr once it listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ProfiledApp:
    """WSGI middleware: each worker thread profiles the requests it serves."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.local = threading.local()
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        profile = getattr(self.local, "profile", None)
        if profile is None:
            profile = self.local.profile = cProfile.Profile()
            with self.lock:
                self.profiles.append(profile)
        profile.enable()
        try:
            return list(self.app(environ, start_response))  # the body is built inside the profile
        finally:
            profile.disable()

    def dump(self, path: str) -> None:
        with self.lock:
            profiles = list(self.profiles)
        if profiles:
            stats = pstats.Stats(profiles[0])
            for profile in profiles[1:]:
                stats.add(profile)
            stats.dump_stats(path)


def _serve_waitress(app: Any, threads: int) -> None:
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()
        server.close()  # run() returns once the last connection is gone

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    print(f"serving http://127.0.0.1:{server.effective_port}", file=sys.stderr, flush=True)
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise


def _create_ours() -> Any:
    from skill.config import load_settings
    from skill.logs import configure_logging
    from skill.web import create_app

    settings = load_settings()
    configure_logging(settings.log_format, level=logging.INFO, secrets=(settings.pushover_token,))
    config: dict[str, Any] = {"SETTINGS": settings}
    if os.environ.get("BENCH_CHAIN_PEM"):
        chain = Path(os.environ["BENCH_CHAIN_PEM"]).read_bytes()
        config["FETCH"] = lambda url: chain
    return create_app(config)


def _serve_hypercorn(app: Any, threads: int) -> None:
    """``app`` on our WebServer (hypercorn), as ``serve`` runs it."""
    from skill.web import WebServer

    with WebServer(app, host="127.0.0.1", port=0, threads=threads) as server:

        def stop(signum: int, frame: object) -> None:
            threading.Thread(target=server.stop).start()  # stop() waits; a signal handler must not

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        print(f"serving {server.url}", file=sys.stderr, flush=True)
        server.serve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("kind", choices=["ours", "previous", "anchor", "bare"])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument(
        "--on",
        choices=["waitress", "hypercorn"],
        default="waitress",
        help="the server for anchor and bare (ours: always hypercorn; previous: always waitress)",
    )
    parser.add_argument("--profile", metavar="PATH", help="write merged cProfile stats here on stop")
    args = parser.parse_args(argv)
    profiled: ProfiledApp | None = None

    def wrap(app: WSGIApp) -> WSGIApp:
        nonlocal profiled
        if args.profile:
            profiled = ProfiledApp(app)
            return profiled
        return app

    try:
        serve = _serve_hypercorn if args.kind == "ours" or args.on == "hypercorn" else _serve_waitress
        if args.kind in ("ours", "previous"):
            from skill.web import skill_of

            app = _create_ours()
            app.wsgi_app = wrap(app.wsgi_app)  # type: ignore[method-assign]
            try:
                serve(app, args.threads)
            finally:
                skill_of(app).close()
        else:
            from bench.anchor_flask import create_anchor_app, create_bare_app

            app = create_anchor_app() if args.kind == "anchor" else create_bare_app()
            app.wsgi_app = wrap(app.wsgi_app)  # type: ignore[method-assign]
            serve(app, args.threads)
    finally:
        if profiled is not None:
            profiled.dump(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
