"""``python -m skill serve`` in a child process, as a deployment runs it: started, read, stopped."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_MAP = str(ROOT / "intents.yaml")
BANNER_RE = re.compile(r"serving http://127\.0\.0\.1:(\d+)/alexa ")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class Served:
    """A ``python -m skill serve --port 0`` child process, its port, and what it wrote to stderr."""

    def __init__(self, proc: subprocess.Popen[str], lines: list[str]) -> None:
        self.proc = proc
        self.lines = lines
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


@contextlib.contextmanager
def serving(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start the server in a child process, wait for its banner, and make sure it is gone afterwards."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "skill", "serve", "--port", "0", "--intent-map", EXAMPLE_MAP, *args],
        cwd=tmp_path,
        env=child_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    banner = threading.Event()
    assert proc.stderr is not None
    stderr = proc.stderr

    def read() -> None:
        for line in stderr:
            lines.append(line)
            if BANNER_RE.search(line):
                banner.set()

    reader = threading.Thread(target=read, name="serve-stderr")
    reader.start()
    served = Served(proc, lines)
    try:
        if not banner.wait(START_TIMEOUT_S):
            pytest.fail(f"no banner within {START_TIMEOUT_S} s; stderr:\n{served.stderr}")
        match = next(m for m in map(BANNER_RE.search, lines) if m)
        served.port = int(match.group(1))
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)
        reader.join(timeout=STOP_TIMEOUT_S)
        stderr.close()
