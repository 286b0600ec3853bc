"""The load generator and the server processes it drives; everything stays on 127.0.0.1.

``run_load`` sends exactly ``len(requests)`` requests (or fewer, if ``deadline_s`` passes) from
``concurrency`` threads, each with its own keep-alive ``http.client`` connection, and times
every one of them. Servers run in their own processes (``ServerProcess``), so the server and
the load generator do not share a GIL — only the machine's cores.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from bench.harness import percentile

ROOT = Path(__file__).resolve().parent.parent
_LISTENING_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)")


@dataclass(frozen=True)
class Request:
    """One POST to send: the body and its headers."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


@dataclass
class LoadResult:
    """What one load run saw."""

    sent: int
    ok: int
    errors: int
    elapsed_s: float
    latencies_ms: list[float]
    statuses: dict[str, int]
    first_error: str | None = None

    @property
    def throughput(self) -> float:
        """Successful requests per second over the whole run."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50) if self.latencies_ms else float("nan")

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99) if self.latencies_ms else float("nan")

    def summary(self) -> dict[str, float | int | str | None]:
        return {
            "sent": self.sent, "ok": self.ok, "errors": self.errors, "elapsed_s": round(self.elapsed_s, 3),
            "throughput_rps": round(self.throughput, 1), "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3), "first_error": self.first_error,
        }  # fmt: skip


def run_load(
    port: int,
    requests: Sequence[Request],
    concurrency: int,
    *,
    path: str = "/alexa",
    deadline_s: float = 120.0,
    timeout_s: float = 10.0,
) -> LoadResult:
    """POST every request once to 127.0.0.1:``port``, ``concurrency`` at a time; 200 is success."""
    counter = itertools.count()  # next() on a count is atomic under the GIL
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    start_gate = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        mine: list[float] = []
        seen: Counter[str] = Counter()
        failed: list[str] = []
        try:
            start_gate.wait()
            while (index := next(counter)) < len(requests) and time.perf_counter() < stop_at[0]:
                req = requests[index]
                began = time.perf_counter()
                try:
                    conn.request("POST", path, body=req.body, headers=dict(req.headers))
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as err:
                    conn.close()  # reconnects on the next request
                    seen[type(err).__name__] += 1
                    failed.append(f"{type(err).__name__}: {err}")
                    continue
                took = (time.perf_counter() - began) * 1000
                seen[str(response.status)] += 1
                if response.status == 200:
                    mine.append(took)
                else:
                    failed.append(f"HTTP {response.status}")
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                statuses.update(seen)
                errors.extend(failed)

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + deadline_s
    start_gate.wait()
    for thread in threads:
        thread.join(deadline_s + timeout_s + 5)
    elapsed = time.perf_counter() - began
    sent = sum(statuses.values())
    return LoadResult(sent, len(latencies), sent - len(latencies) + (len(requests) - sent), elapsed, latencies,
                      dict(statuses), errors[0] if errors else None)  # fmt: skip


class ServerProcess:
    """A server in a child process, its stderr in a log file; ``port`` once it listens."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, *, name: str) -> None:
        self.argv, self.env, self.log_path, self.name = list(argv), dict(env), log_path, name
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        log = self.log_path.open("wb")
        self._log = log
        self._proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = _LISTENING_RE.search(self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(1))
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        text = self.log_path.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"{self.name} server did not start:\n{text}")

    def stop(self, timeout_s: float = 15.0) -> int | None:
        proc, self._proc = self._proc, None
        code = None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
            try:
                code = proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def cpu_s(self) -> float | None:
        """CPU seconds (user + system) the server process has used so far; None where /proc is missing."""
        if self._proc is None:
            return None
        try:
            fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class FakeProcess:
    """bench/fake_server.py: the fake Pushover in its own process."""

    def __init__(self) -> None:
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self, timeout_s: float = 30.0) -> FakeProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fake_server"], cwd=ROOT, env=server_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.url = self._ask(None)["url"]
        return self

    def _ask(self, command: str | None) -> dict:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("the fake Pushover process is not running")
        if command is not None:
            proc.stdin.write(command + "\n")
            proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Pushover process exited")
        answer: dict = json.loads(line)
        return answer

    def reset(self) -> None:
        """Forget the requests and connections counted so far."""
        self._ask("reset")

    def stats(self) -> dict[str, int]:
        """``{"messages", "requests", "connections"}`` since the last reset."""
        return self._ask("stats")

    def stop(self, timeout_s: float = 15.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()  # end of input stops it
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def __enter__(self) -> FakeProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def server_env(**extra: str) -> dict[str, str]:
    """The environment for a server process: ours reads its settings from here, like in production."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "ALEXA_", "INTENT_MAP"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    return env


def ours_argv(*flags: str) -> list[str]:
    """The real command: ``python -m skill serve`` on a free port."""
    return [sys.executable, "-m", "skill", "serve", "--host", "127.0.0.1", "--port", "0", *flags]


def bench_server_argv(kind: str, threads: int, on: str | None = None) -> list[str]:
    """``python -m bench.server``: KIND with THREADS worker threads (anchor and bare: ON waitress or hypercorn)."""
    return [sys.executable, "-m", "bench.server", kind, "--threads", str(threads), *(["--on", on] if on else [])]
