"""``python -m bench [--quick] [--only ROW ...]``: print the table, write bench/results.json.

Every ratio is ours / an anchor measured in the same run, interleaved with ours.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.harness import RESULTS_PATH, Figure, format_table, machine, write_results

#: row -> (full sizes, quick sizes), as keyword arguments of its measure function.
SIZES: dict[str, tuple[dict, dict]] = {
    # Many short samples: a burst of outside load then lands on a few samples of each side, not on one.
    "dispatch": ({"n": 500, "repeats": 21}, {"n": 200, "repeats": 5}),
    "http": (
        {"n_by_concurrency": {1: 600, 8: 1200}, "repeats": 7},
        {"n_by_concurrency": {1: 60, 8: 120}, "repeats": 2, "warmup": 10},
    ),
    "wrk": (
        {"duration_s": 2, "concurrencies": (1, 8), "repeats": 5},
        {"duration_s": 1, "concurrencies": (1, 8), "repeats": 1},
    ),
    "verify": ({"n": 1000, "repeats": 21}, {"n": 300, "repeats": 5}),
    "coldstart": ({"repeats": 9}, {"repeats": 3}),
    "connections": ({"n": 100}, {"n": 100}),
    "load": ({"n": 2000, "concurrency": 16}, {"n": 300, "concurrency": 16}),
    "lockout": ({"n": 1000, "probes": 3}, {"n": 300, "probes": 1, "timeout_s": 2.0}),
}  # fmt: skip
ROWS = tuple(SIZES)


def measure(row: str) -> Callable[..., list[Figure]]:
    """The measure function of ``row`` (imported late: each row loads only what it needs)."""
    if row == "dispatch":
        from bench.dispatch import measure_dispatch

        return measure_dispatch
    if row == "http":
        from bench.serving import measure_http

        return measure_http
    if row == "wrk":
        from bench.wrk import measure_wrk

        return measure_wrk
    if row == "verify":
        from bench.signature import measure_verify

        return measure_verify
    if row == "coldstart":
        from bench.coldstart import measure_coldstart

        return measure_coldstart
    if row == "connections":
        from bench.connections import measure_connections

        return measure_connections
    if row == "load":
        from bench.serving import measure_load

        return measure_load
    if row == "lockout":
        from bench.lockout import measure_lockout

        return measure_lockout
    raise ValueError(f"unknown row {row!r}")


def run_rows(rows: Sequence[str], *, quick: bool, log: Callable[[str], None]) -> tuple[list[Figure], list[str]]:
    """Measure each row; a row that fails is reported and the others still run."""
    figures: list[Figure] = []
    failures: list[str] = []
    for row in rows:
        kwargs = SIZES[row][1 if quick else 0]
        started = time.perf_counter()
        log(f"{row} …")
        try:
            figures.extend(measure(row)(**kwargs))
        except Exception as err:
            failures.append(f"{row}: {type(err).__name__}: {err}")
            log(traceback.format_exc())
            figures.append(Figure(row, f"{row} (FAILED)", "-", None, extra={"error": f"{type(err).__name__}: {err}"}))
        log(f"{row} done in {time.perf_counter() - started:.1f} s")
    return figures, failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (about 30 s)")
    parser.add_argument(
        "--only",
        action="append",
        choices=ROWS,
        metavar="ROW",
        help=f"run only this row (repeatable): {', '.join(ROWS)}",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_PATH, help=f"results JSON (default {RESULTS_PATH})")
    args = parser.parse_args(argv)
    rows = [row for row in ROWS if not args.only or row in args.only]
    info = machine()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load = info.get("loadavg_at_start")
    if load and info["cpus"] and load[0] > 0.5 * info["cpus"]:
        log(f"note: the machine is busy (load average {load[0]:.1f} on {info['cpus']} CPUs): figures will be noisy")
    started = time.perf_counter()
    figures, failures = run_rows(rows, quick=args.quick, log=log)
    total = time.perf_counter() - started
    command = "python -m bench" + (" --quick" if args.quick else "") + "".join(f" --only {r}" for r in args.only or [])
    write_results(figures, info, args.out, command=command, total_s=round(total, 1), rows=rows, failures=failures)
    print(format_table(figures, info))
    print(f"\ntotal {total:.0f} s; every figure in {args.out}")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
