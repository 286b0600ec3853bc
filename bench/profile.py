"""Where the time goes: ``python -m bench.profile ROW [--kind ours|anchor] [-n N] [--sort tottime]``.

dispatch   cProfile over N in-process LocateIntent dispatches (ours or the anchor)
parts      µs per request of each step of a dispatch, ours and the anchor, timed in place (no profiler)
http       the server process under cProfile (per worker thread, wall clock), N requests at c=1
breakdown  CPU µs per request, layer by layer, ours against the anchor (no profiler: process CPU time,
           medians of interleaved samples)
verify     cProfile over N RequestVerifier.verify calls with the chain cached
coldstart  the steps of a cold start, ours and the anchors (bench/coldsteps.py), then ``python -X importtime``
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from bench.harness import interleave, median


def _package_of(filename: str) -> str:
    """The distribution a profiled function lives in: site-packages/<pkg>/…, stdlib <module>, bench, skill."""
    path = Path(filename)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    for local in ("skill", "bench", "tests"):
        if local in parts:
            return local
    if filename.startswith("<frozen ") or filename == "~":
        return "builtins/frozen"
    return f"stdlib:{path.stem}"


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own (tottime) seconds summed per package, largest first."""
    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        package = _package_of(filename)
        totals[package] = totals.get(package, 0.0) + tottime
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


def _print_stats(stats: pstats.Stats, sort: str, limit: int, calls: int | None = None) -> None:
    packages = by_package(stats)
    total = sum(t for _, t in packages)
    per = f", {total / calls * 1e6:,.0f} µs per request" if calls else ""
    print(f"own time by package (profiled{per}; the profiler itself inflates small calls):")
    for package, seconds in packages[:15]:
        each = f"{seconds / calls * 1e6:9.1f} µs/req" if calls else ""
        print(f"  {seconds / total:6.1%}  {each}  {package}")
    print()
    stats.strip_dirs().sort_stats(sort).print_stats(limit)


def profile_dispatch(kind: str, n: int, sort: str, limit: int) -> None:
    from bench.dispatch import build_anchor, build_ours, locate_body

    body = locate_body()
    close = None
    if kind == "ours":
        call, close = build_ours()
    else:
        call = build_anchor()
    for _ in range(100):
        call(body)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(n):
        call(body)
    profile.disable()
    if close is not None:
        close()
    _print_stats(pstats.Stats(profile), sort, limit, n)


def dispatch_parts(n: int) -> None:
    from bench.dispatch import measure_parts

    parts = measure_parts(n)
    ours, anchor = parts["ours"], parts["anchor"]
    rows = [
        ("whole request (body in, JSON out)", "whole"),
        ("parse_envelope (json.loads, shape checks)", "parse_envelope"),
        ("SDK deserialize (the envelope's model)", "SDK deserialize"),
        ("skill.invoke (SDK dispatch, handler, response)", "skill.invoke"),
        ("  of which Service.handle_intent", "Service.handle_intent"),
    ]
    print(f"{'µs per request, timed in place':48} {'ours':>7} {'anchor':>7} {'x anchor':>9}")
    for label, step in rows:
        mine, theirs = ours.get(step, 0.0), anchor.get(step)
        share = f"{mine / anchor['whole']:8.2f}x"
        print(f"{label:48} {mine:7.1f} {'' if theirs is None else f'{theirs:7.1f}':>7} {share}")
    rest = {side: s["whole"] - sum(v for k, v in s.items() if k not in {"whole", "Service.handle_intent"})
            for side, s in parts.items()}  # fmt: skip
    label = "the rest (Result, serialize, json.dumps)"
    print(f"{label:48} {rest['ours']:7.1f} {rest['anchor']:7.1f} {rest['ours'] / anchor['whole']:8.2f}x")


def profile_http(kind: str, n: int, sort: str, limit: int) -> None:
    from bench.load import FakeProcess, ServerProcess, bench_server_argv, run_load
    from bench.serving import _pushover_env, locate_requests, server_threads

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, FakeProcess() as fake:
        workdir = Path(tmp)
        env = _pushover_env(fake.url, workdir)
        env["ALEXA_VERIFY"] = "0"
        out = workdir / "server.prof"
        argv = [*bench_server_argv(kind, server_threads()), "--profile", str(out)]
        with ServerProcess(argv, env, workdir / "server.log", name=kind) as server:
            result = run_load(server.port, locate_requests(n), 1)
        print(f"{kind}: {result.ok} requests at c=1, p50 {result.p50_ms:.2f} ms under the profiler (wall clock)\n")
        _print_stats(pstats.Stats(str(out)), sort, limit, result.ok)


def _cpu_us(call: Callable[[], object], n: int) -> float:
    """Process CPU µs per call over ``n`` calls (all threads: our sends run in worker threads)."""
    start = time.process_time()
    for _ in range(n):
        call()
    return (time.process_time() - start) / n * 1e6


def _pair(name: str, ours: Callable[[], object], anchor: Callable[[], object], n: int) -> tuple[str, float, float]:
    """Medians of 7 interleaved samples of ``n`` calls each, after a warm-up."""
    for _ in range(20):
        ours()
        anchor()
    samples = interleave({"ours": lambda: _cpu_us(ours, n), "anchor": lambda: _cpu_us(anchor, n)}, 7)
    return name, median(samples["ours"]), median(samples["anchor"])


def breakdown(n: int) -> None:
    """CPU per request of each layer: dispatch (dry run), one Pushover send, the whole Flask app."""
    from bench.anchor_flask import create_anchor_app
    from bench.dispatch import build_anchor, build_ours, locate_body
    from bench.load import FakeProcess
    from skill.config import Credentials, Settings
    from skill.logs import configure_logging
    from skill.pushover import Message, PushoverClient
    from skill.web import create_app, skill_of
    from tests.fake_pushover import TOKEN, USER

    body = locate_body()
    rows: list[tuple[str, float, float]] = []
    (ours, close), anchor = build_ours(), build_anchor()
    rows.append(_pair("dispatch, dry run (skill only)", lambda: ours(body), lambda: anchor(body), n))
    close()
    message = Message("The location of Paulus has been queried via Alexa.", title="Home Assistant",
                      devices=("pixel",), sound="falling", url="https://www.home-assistant.io/")  # fmt: skip
    with FakeProcess() as fake, tempfile.TemporaryDirectory(prefix="bench-breakdown-") as tmp:
        form = {**message.to_form(), "token": TOKEN, "user": USER}
        with PushoverClient(fake.url) as client, requests.Session() as session:
            rows.append(_pair(
                "one Pushover send (client side)",
                lambda: client.send(message, Credentials(TOKEN, USER)),
                lambda: session.post(f"{fake.url}/messages.json", data=form, timeout=(2, 4)),
                n,
            ))  # fmt: skip
        settings = Settings(pushover_api_url=fake.url, pushover_token=TOKEN, pushover_user=USER, dry_run=False,
                            alexa_verify=False, outbox_path=f"{tmp}/outbox.sqlite3")  # fmt: skip
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            configure_logging("text", level=logging.INFO)  # as serve does: one line per request
            ours_app = create_app({"SETTINGS": settings})
            anchor_app = create_anchor_app(fake.url, TOKEN, USER)
            ours_client, anchor_client = ours_app.test_client(), anchor_app.test_client()
            headers = {"Content-Type": "application/json"}
            rows.append(_pair(
                "whole app, Flask test client (sends)",
                lambda: ours_client.post("/alexa", data=body, headers=headers),
                lambda: anchor_client.post("/alexa", data=body, headers=headers),
                n,
            ))  # fmt: skip
            logging.getLogger().handlers.clear()
            skill_of(ours_app).close()
    print(f"{'CPU µs per request':40} {'ours':>8} {'anchor':>8} {'extra':>8}")
    for name, ours_us, anchor_us in rows:
        print(f"{name:40} {ours_us:8.0f} {anchor_us:8.0f} {ours_us - anchor_us:+8.0f}")
    app_extra = rows[2][1] - rows[2][2] - (rows[0][1] - rows[0][2]) - (rows[1][1] - rows[1][2])
    print(f"{'web layer (whole app - the two above)':40} {'':8} {'':8} {app_extra:+8.0f}")


def profile_verify(n: int, sort: str, limit: int) -> None:
    from bench.signature import SKILL_ID, make_test_pki
    from skill.alexa import build_request_envelope
    from skill.replay import ReplayGuard
    from skill.verify import RequestVerifier

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        test_pki = make_test_pki(Path(tmp))
        envelope = build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, application_id=SKILL_ID)
        headers, body = test_pki.signed_request(envelope)
        with RequestVerifier(
            skill_id=SKILL_ID, ca_bundle=str(test_pki.root_path), fetch=lambda url: test_pki.chain_pem
        ) as verifier:
            verifier.verify(headers, body, envelope)
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(n):
                verifier.replays = ReplayGuard()  # the same request each time: not a replay
                verifier.verify(headers, body, envelope)
            profile.disable()
    _print_stats(pstats.Stats(profile), sort, limit, n)


# ``python -X importtime`` of ours as on Lambda, answering a LaunchRequest and then a LocateIntent.
_IMPORTTIME_CHILD = """
import json, sys
from skill import lambda_function
lambda_function.handler(json.loads(sys.argv[1]), None)
lambda_function.handler(json.loads(sys.argv[2]), None)
"""


def profile_coldstart(limit: int) -> None:
    from bench.coldsteps import print_steps

    print_steps()
    from bench.coldstart import ROOT, bundled_map, envelope, lambda_env
    from bench.load import FakeProcess

    events = [json.dumps(envelope("LaunchRequest")),
              json.dumps(envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}))]  # fmt: skip
    with FakeProcess() as fake, bundled_map() as map_path:
        env = lambda_env(PUSHOVER_API_URL=fake.url, INTENT_MAP=str(map_path))
        argv = [sys.executable, "-c", _IMPORTTIME_CHILD, *events]
        subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)  # warm the .pyc files
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        rows.append((int(cumulative_us), int(self_us), name[1:]))  # one leading space; deeper imports have more
    by_package: dict[str, int] = {}
    for _, own, name in rows:
        root = name.strip().split(".")[0]
        by_package[root] = by_package.get(root, 0) + own
    total = sum(by_package.values())
    print(f"python -X importtime, ours as on Lambda (a LaunchRequest, then a LocateIntent that is sent): "
          f"{total / 1000:.0f} ms of module code (sum of self times)\n")  # fmt: skip
    print(f"{'self ms':>8} {'share':>6}  package (all its modules)")
    for root, own in sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:limit]:
        print(f"{own / 1000:8.1f} {own / total:6.0%}  {root}")
    print(f"\n{'self ms':>8} {'cumul. ms':>9}  module (by own time)")
    for cumulative, own, name in sorted(rows, key=lambda r: r[1], reverse=True)[:limit]:
        print(f"{own / 1000:8.1f} {cumulative / 1000:9.1f}  {name.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("row", choices=["dispatch", "parts", "http", "breakdown", "verify", "coldstart"])
    parser.add_argument("--kind", choices=["ours", "anchor"], default="ours")
    parser.add_argument("-n", type=int, default=2000, help="requests (default 2000)")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (default cumulative)")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args(argv)
    if args.row == "dispatch":
        profile_dispatch(args.kind, args.n, args.sort, args.limit)
    elif args.row == "parts":
        dispatch_parts(min(args.n, 500))
    elif args.row == "http":
        profile_http(args.kind, args.n, args.sort, args.limit)
    elif args.row == "breakdown":
        breakdown(min(args.n, 300))
    elif args.row == "verify":
        profile_verify(args.n, args.sort, args.limit)
    else:
        profile_coldstart(args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
