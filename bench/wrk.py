"""Row "http (wrk)": the HTTP rows again, with wrk as the load generator instead of Python threads.

wrk (Debian package ``wrk``) is written in C and needs a fraction of the CPU the Python load
generator does, so on a shared 2-core machine more of the CPU goes to the servers. Each round
runs ``wrk -c C -d D`` against ours, anchor (a) on the same server settings and anchor (a) on
waitress (bench/anchor_flask.py; see bench/serving.py), interleaved, with the same servers and
fake Pushover as the Python rows; a Lua script gives every request its
own ``requestId``. Every 2xx must reach the fake (up to C more may be counted there: wrk stops
counting answers when its time is up, while the last requests are still being served).

Without wrk the row is skipped with a note saying how to install it: nothing else needs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Figure, interleave, median
from bench.load import FakeProcess, ServerProcess, run_load
from bench.serving import ANCHOR_A_WAITRESS, http_servers, locate_requests, server_threads

INSTALL_HINT = "wrk is not installed (Debian/Ubuntu: apt-get install wrk)"
_ID_MARK = "@@REQUEST@@"
_SCRIPT = """
local made = 0
function setup(thread)
  made = made + 1
  thread:set("prefix", tostring(made))
end
local counter = 0
local headers = {["Content-Type"] = "application/json"}
local template = [==[%s]==]
function request()
  counter = counter + 1
  local body = template:gsub("%s", prefix .. "-" .. counter)
  return wrk.format("POST", "/alexa", headers, body)
end
"""
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkRun:
    """What one wrk run reported, what the fake received, and the server's CPU per answered request."""

    requests: int
    non_2xx: int
    socket_errors: int
    duration_s: float
    throughput: float
    p50_ms: float
    p99_ms: float
    notifications: int
    server_cpu_ms_per_req: float | None

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx


def lua_script(body: bytes) -> str:
    """The wrk script: POST /alexa with ``body``, its requestId made unique per request."""
    envelope = json.loads(body)
    envelope["request"]["requestId"] = f"amzn1.echo-api.request.wrk-{_ID_MARK}"
    text = json.dumps(envelope)
    if "]==]" in text:
        raise ValueError("the body cannot be embedded in the Lua script")
    return _SCRIPT % (text, _ID_MARK)  # "@" is no magic character in a Lua pattern


def parse_wrk(output: str) -> dict[str, float]:
    """Requests, non-2xx answers, socket errors, req/s and the p50/p99 latency (ms) from ``wrk --latency``."""

    def number(pattern: str, default: float | None = None) -> float:
        found = re.search(pattern, output)
        if found is None:
            if default is None:
                raise ValueError(f"wrk printed no {pattern!r}:\n{output[-1000:]}")
            return default
        return float(found.group(1))

    def latency(pct: str) -> float:
        found = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, flags=re.M)
        if found is None:
            raise ValueError(f"wrk printed no {pct}% latency:\n{output[-1000:]}")
        return float(found.group(1)) * _UNITS_MS[found.group(2)]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": number(r"(\d+) requests in"),
        "duration_s": number(r"requests in ([\d.]+)s"),
        "throughput": number(r"Requests/sec:\s+([\d.]+)"),
        "non_2xx": number(r"Non-2xx or 3xx responses: (\d+)", 0.0),
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
    }


def run_wrk(
    wrk: str, port: int, script: Path, concurrency: int, duration_s: int, fake: FakeProcess, server: ServerProcess
) -> WrkRun:
    """One wrk run against ``server``; counts what reached the fake and the server's CPU."""
    fake.reset()
    cpu_before = server.cpu_s()
    argv = [wrk, f"-t{min(concurrency, 2)}", f"-c{concurrency}", f"-d{duration_s}s", "--latency", "-s", str(script),
            f"http://127.0.0.1:{port}/alexa"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")
    cpu_after = server.cpu_s()
    time.sleep(0.2)  # the requests wrk left in flight reach the fake
    parsed = parse_wrk(done.stdout)
    ok = int(parsed["requests"] - parsed["non_2xx"])
    cpu = (cpu_after - cpu_before) / ok * 1000 if cpu_before is not None and cpu_after is not None and ok else None
    return WrkRun(
        int(parsed["requests"]), int(parsed["non_2xx"]), int(parsed["socket_errors"]), parsed["duration_s"],
        parsed["throughput"], parsed["p50_ms"], parsed["p99_ms"], fake.stats()["messages"], cpu,
    )  # fmt: skip


def measure_wrk(
    duration_s: int = 3, concurrencies: Sequence[int] = (1, 8), repeats: int = 5, wrk: str | None = None
) -> list[Figure]:
    """Throughput and p50/p99 from wrk, ours against anchor (a), interleaved; a note instead when wrk is missing."""
    wrk = wrk or shutil.which("wrk")
    if wrk is None or shutil.which(wrk) is None:
        return [Figure("wrk", f"HTTP wrk: skipped, {INSTALL_HINT}", "-", None, extra={"skipped": INSTALL_HINT})]
    threads = server_threads()
    figures: list[Figure] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp,
        FakeProcess() as fake,
        http_servers(fake.url, Path(tmp), ("anchor", "anchor_waitress")) as measured,
    ):
        script = Path(tmp) / "locate.lua"
        script.write_text(lua_script(locate_requests(1)[0].body), encoding="utf-8")
        for server in measured.values():  # first requests import lazily and open the Pushover connection
            run_load(server.port, locate_requests(50), 2)
        for concurrency in concurrencies:
            measures = {
                name: (lambda s=server, c=concurrency: run_wrk(wrk, s.port, script, c, duration_s, fake, s))
                for name, server in measured.items()
            }
            figures.extend(_figures(interleave(measures, repeats), concurrency, duration_s, repeats, threads))
    return figures


def _figures(
    runs: dict[str, list[WrkRun]], concurrency: int, duration_s: int, repeats: int, threads: int
) -> list[Figure]:
    errors = {name: sum(r.non_2xx + r.socket_errors for r in runs[name]) for name in runs}
    # wrk stops counting at its deadline; up to `concurrency` requests in flight may still reach the fake.
    notified = all(r.ok <= r.notifications <= r.ok + concurrency for name in runs for r in runs[name])
    extra = {
        "tool": "wrk", "concurrency": concurrency, "duration_s": duration_s, "repeats": repeats,
        "server_threads": threads, "errors": errors, "every_2xx_notified": notified,
        "runs": {name: [r.__dict__ for r in runs[name]] for name in runs},
    }  # fmt: skip
    if any(errors.values()) or not notified:
        extra["warning"] = f"wrk c={concurrency}: errors {errors}; every 2xx notified: {notified}"
    anchor = "bench/anchor_flask.py (a) on our WebServer as serve runs it, load from wrk"
    name = f"HTTP wrk c={concurrency}"

    def series(attr: str, other: str) -> dict[str, list[float]]:
        return {side: [float(getattr(r, attr)) for r in runs[side]] for side in ("ours", other)}

    def cpu(other: str) -> dict[str, list[float]]:
        return {side: [r.server_cpu_ms_per_req for r in runs[side] if r.server_cpu_ms_per_req is not None]
                for side in ("ours", other)}  # fmt: skip

    tp, p50, p99 = series("throughput", "anchor"), series("p50_ms", "anchor"), series("p99_ms", "anchor")
    figures = [
        Figure("wrk", f"{name} throughput", "req/s", median(tp["ours"]), median(tp["anchor"]), anchor, (">=", 0.9),
               better="higher", samples=tp, extra=extra),
        Figure("wrk", f"{name} p50", "ms", median(p50["ours"]), median(p50["anchor"]), anchor, samples=p50),
        Figure("wrk", f"{name} p99", "ms", median(p99["ours"]), median(p99["anchor"]), anchor, ("<=", 1.2),
               samples=p99),
    ]  # fmt: skip
    used = cpu("anchor")
    if used["ours"] and used["anchor"]:
        figures.append(Figure("wrk", f"{name} server CPU", "ms/req", median(used["ours"]), median(used["anchor"]),
                              anchor, samples=used))  # fmt: skip
    if "anchor_waitress" in runs:  # reported beside the goal rows: the same load against the anchor on waitress
        other, other_name = "anchor_waitress", ANCHOR_A_WAITRESS + ", load from wrk"
        tp_w, p99_w, used_w = series("throughput", other), series("p99_ms", other), cpu(other)
        figures += [
            Figure("wrk", f"{name} throughput vs anchor on waitress", "req/s", median(tp_w["ours"]),
                   median(tp_w[other]), other_name, better="higher", samples=tp_w),
            Figure("wrk", f"{name} p99 vs anchor on waitress", "ms", median(p99_w["ours"]), median(p99_w[other]),
                   other_name, samples=p99_w),
        ]  # fmt: skip
        if used_w["ours"] and used_w[other]:
            cpu_name = f"{name} server CPU vs anchor on waitress"
            figures.append(Figure("wrk", cpu_name, "ms/req", median(used_w["ours"]), median(used_w[other]),
                                  other_name, samples=used_w))  # fmt: skip
    return figures
