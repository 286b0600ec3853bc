"""A server process for the HTTP rows: ``python -m bench.server KIND --threads N``.

KIND is ``anchor`` or ``bare`` (bench/anchor_flask.py on waitress), or ``verified``: our
``create_app()`` on our ``WebServer``, as ``serve`` builds them, with the verifier's certificate
fetch answered from ``BENCH_CHAIN_PEM`` (a file) instead of Amazon's S3. (Ours *without*
verification is the real ``python -m skill serve --no-verify``.)

Prints ``serving http://HOST:PORT`` to stderr once it listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path


def _serve_waitress(app: object, threads: int) -> int:
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=threads)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()
        server.close()  # ends run() once the connections are gone; the process exits right after

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    print(f"serving http://127.0.0.1:{server.effective_port}", file=sys.stderr, flush=True)
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise
    return 0


def _serve_verified(threads: int) -> int:
    from skill.config import load_settings
    from skill.logs import configure_logging
    from skill.web import WebServer, create_app, skill_of

    settings = load_settings()
    configure_logging(settings.log_format, level=logging.INFO, secrets=(settings.pushover_token,))
    chain = Path(os.environ["BENCH_CHAIN_PEM"]).read_bytes()
    app = create_app({"SETTINGS": settings, "FETCH": lambda url: chain})
    with WebServer(app, host="127.0.0.1", port=0, threads=threads) as server:
        signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.stop).start())
        signal.signal(signal.SIGINT, lambda signum, frame: threading.Thread(target=server.stop).start())
        print(f"serving {server.url}", file=sys.stderr, flush=True)
        server.serve()
    skill_of(app).close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("kind", choices=["anchor", "bare", "verified"])
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    if args.kind == "verified":
        return _serve_verified(args.threads)
    from bench.anchor_flask import create_anchor_app, create_bare_app

    app = create_anchor_app() if args.kind == "anchor" else create_bare_app()
    return _serve_waitress(app, args.threads)


if __name__ == "__main__":
    sys.exit(main())
