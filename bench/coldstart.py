"""Row "cold start": importing the Lambda handler module in a fresh interpreter, time and peak RSS.

Each sample is a fresh ``python -c "import MODULE"``, started by a small launcher process that
times it and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once it has exited: the launcher has
exactly one child, so that is the child's own peak. (Started straight from the bench process,
Linux would report the *bench's* RSS: ``ru_maxrss`` carries the forking parent's resident set
across ``fork``/``exec``.)

Two environments: as on Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set, so importing the handler
module builds the skill: the INIT phase a person waits for), and anywhere else (the import
stays light and the first call builds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.harness import Figure, interleave, median

ROOT = Path(__file__).resolve().parent.parent
OURS_MODULE = "skill.lambda_function"
ANCHOR_MODULE = "ask_sdk_core.skill_builder"

# The child times its own import.
_CHILD = """
import time
start = time.perf_counter()
import {module}
print((time.perf_counter() - start) * 1000)
"""
# The launcher times the child's whole life and reports its peak RSS (KiB on Linux).
_LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)
wall_ms = (time.perf_counter() - start) * 1000
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": proc.returncode, "wall_ms": wall_ms, "maxrss_kib": rss,
                  "out": proc.stdout, "err": proc.stderr[-2000:]}))
"""


def lambda_env() -> dict[str, str]:
    """The environment of a Lambda function: the handler module builds the skill at import."""
    from tests.fake_pushover import TOKEN, USER

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHOVER_", "ALEXA_", "INTENT_MAP", "AWS_"))}
    env.update(
        AWS_LAMBDA_FUNCTION_NAME="bench-coldstart", AWS_LAMBDA_LOG_LEVEL="WARNING", PUSHOVER_TOKEN=TOKEN,
        PUSHOVER_USER=USER, ALEXA_SKILL_ID="amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
    )  # fmt: skip
    return env


def plain_env() -> dict[str, str]:
    """Anywhere but Lambda (no AWS_LAMBDA_FUNCTION_NAME): the import stays light."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_LAMBDA", "INTENT_MAP"))}


def run_child(module: str, env: dict[str, str] | None = None, timeout_s: float = 60.0) -> dict[str, float]:
    """One fresh interpreter that imports ``module``: its wall time, import time and peak RSS."""
    child = [sys.executable, "-c", _CHILD.format(module=module)]
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, *child],
        cwd=ROOT, env=env if env is not None else plain_env(), capture_output=True, text=True, timeout=timeout_s,
        check=True,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    if report["code"] != 0:
        raise RuntimeError(f"importing {module} failed: {report['err'].strip().splitlines()[-1:]}")
    return {
        "wall_ms": report["wall_ms"],
        "import_ms": float(report["out"].strip().splitlines()[-1]),
        "maxrss_mib": report["maxrss_kib"] / 1024,
    }


def measure_coldstart(repeats: int = 7, ours_module: str = OURS_MODULE) -> list[Figure]:
    """Median wall time, import time and peak RSS over ``repeats`` fresh interpreters per side, interleaved."""
    figures = []
    bare = median(run_child("sys")["maxrss_mib"] for _ in range(2))
    for where, env in (("on Lambda", lambda_env()), ("off Lambda", plain_env())):
        for module in (ours_module, ANCHOR_MODULE):
            run_child(module, env)  # writes the .pyc files, so no sample pays for compiling
        runs = interleave(
            {
                "ours": lambda env=env: run_child(ours_module, env),
                "anchor": lambda env=env: run_child(ANCHOR_MODULE, env),
            },
            repeats,
        )
        for key, name, unit in (
            ("wall_ms", "process wall", "ms"),
            ("import_ms", "import only", "ms"),
            ("maxrss_mib", "peak RSS", "MiB"),
        ):
            samples = {side: [r[key] for r in runs[side]] for side in runs}
            figures.append(
                Figure(
                    "coldstart",
                    f"cold start {where}, {name}",
                    unit,
                    median(samples["ours"]),
                    median(samples["anchor"]),
                    f"python -c 'import {ANCHOR_MODULE}' (same environment)",
                    ("<=", 1.5) if key != "import_ms" else None,
                    samples=samples,
                    extra={"module": ours_module, "repeats": repeats, "bare_interpreter_rss_mib": bare},
                )
            )
    return figures
