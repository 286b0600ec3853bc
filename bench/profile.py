"""Where the time goes: ``python -m bench.profile ROW [--kind ours|anchor] [-n N] [--sort tottime]``.

dispatch   cProfile over N in-process LocateIntent dispatches (ours or the anchor)
http       the server process under cProfile (per worker thread, wall clock), N requests at c=1
verify     cProfile over N RequestVerifier.verify calls with the chain cached
coldstart  ``python -X importtime`` of the Lambda handler module as on Lambda: the slowest imports
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path


def _print_stats(stats: pstats.Stats, sort: str, limit: int) -> None:
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
    _print_stats(pstats.Stats(profile), sort, limit)


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
        print(f"{kind}: {result.ok} requests at c=1, p50 {result.p50_ms:.2f} ms (under the profiler)\n")
        _print_stats(pstats.Stats(str(out)), sort, limit)


def profile_verify(n: int, sort: str, limit: int) -> None:
    from bench.signature import SKILL_ID, make_test_pki
    from skill.alexa import build_request_envelope
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
                verifier.verify(headers, body, envelope)
            profile.disable()
    _print_stats(pstats.Stats(profile), sort, limit)


def profile_coldstart(limit: int) -> None:
    from bench.coldstart import ROOT, lambda_env

    code = "import skill.lambda_function"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=lambda_env(), check=True)  # warm the .pyc files
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT, env=lambda_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        rows.append((int(cumulative_us), int(self_us), name[1:]))  # one leading space; deeper imports have more
    top = [r for r in rows if not r[2].startswith(" ")]  # imported by the handler module itself
    print(f"{'cumulative ms':>14} {'self ms':>8}  module (top level)")
    for cumulative, own, name in sorted(top, reverse=True)[:limit]:
        print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {name}")
    print(f"\n{'cumulative ms':>14} {'self ms':>8}  module (any depth, by own time)")
    for cumulative, own, name in sorted(rows, key=lambda r: r[1], reverse=True)[:limit]:
        print(f"{cumulative / 1000:14.1f} {own / 1000:8.1f}  {name.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("row", choices=["dispatch", "http", "verify", "coldstart"])
    parser.add_argument("--kind", choices=["ours", "anchor"], default="ours")
    parser.add_argument("-n", type=int, default=2000, help="requests (default 2000)")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (default cumulative)")
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args(argv)
    if args.row == "dispatch":
        profile_dispatch(args.kind, args.n, args.sort, args.limit)
    elif args.row == "http":
        profile_http(args.kind, args.n, args.sort, args.limit)
    elif args.row == "verify":
        profile_verify(args.n, args.sort, args.limit)
    else:
        profile_coldstart(args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
