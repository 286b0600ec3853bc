"""Rows "cold start": a fresh interpreter imports a Lambda handler and answers one request.

Each sample is a fresh ``python -c …`` that imports the handler module and calls it once with
an Alexa envelope (as the Lambda runtime does: the event arrives as a dict), started by a small
launcher process that times it and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once it has
exited: the launcher has exactly one child, so that is the child's own peak. (Started straight
from the bench process, Linux would report the *bench's* RSS: ``ru_maxrss`` carries the forking
parent's resident set across ``fork``/``exec``.)

- **LaunchRequest** as on Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set: the import is the INIT phase),
  against bench/anchor_lambda.py, the smallest ask-sdk-core skill that greets.
- **LocateIntent, sent** to the fake Pushover (bench/fake_server.py, its own process), against
  bench/anchor_lambda_send.py: ask-sdk-core + PyYAML + Jinja2 + requests sending the same
  notification. Every sample must reach the fake, or the row fails.
- **off Lambda**: only the import of the handler module (it stays light), against
  ``import ask_sdk_core.skill_builder``.

Ours reads the example intents.yaml from a temporary copy with the pre-validated map beside it,
as ``make build-SkillFunction`` bundles them (skill/bundle.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from bench.harness import Figure, interleave, median

ROOT = Path(__file__).resolve().parent.parent
OURS_MODULE = "skill.lambda_function"
ANCHOR_MODULE = "ask_sdk_core.skill_builder"
LAUNCH_ANCHOR = "bench.anchor_lambda"
SEND_ANCHOR = "bench.anchor_lambda_send"

# The child parses the event first (the Lambda runtime hands it over parsed), then times the import
# of the handler module and the first call.
_CHILD = """
import json, sys, time
event = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None
start = time.perf_counter()
import {module} as handler_module
imported = time.perf_counter()
answer = handler_module.{attr}(event, None) if event is not None else None
done = time.perf_counter()
print(json.dumps({{"import_ms": (imported - start) * 1000, "first_ms": (done - start) * 1000, "answer": answer}}))
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


def lambda_env(**extra: str) -> dict[str, str]:
    """The environment of a Lambda function: the handler module builds the skill at import."""
    from tests.fake_pushover import TOKEN, USER

    # Lambda sets neither proxies nor CA bundles (this machine may): they would make either side read them.
    env = {
        k: v
        for k, v in _with_bytecode(os.environ).items()
        if not k.startswith(("PUSHOVER_", "ALEXA_", "INTENT_MAP", "AWS_"))
        and not k.lower().endswith("_proxy")
        and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    }
    env.update(
        AWS_LAMBDA_FUNCTION_NAME="bench-coldstart", AWS_LAMBDA_LOG_LEVEL="WARNING", PUSHOVER_TOKEN=TOKEN,
        PUSHOVER_USER=USER, ALEXA_SKILL_ID="amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
    )  # fmt: skip
    env.update(extra)
    return env


def plain_env() -> dict[str, str]:
    """Anywhere but Lambda (no AWS_LAMBDA_FUNCTION_NAME): the import stays light."""
    return {k: v for k, v in _with_bytecode(os.environ).items() if not k.startswith(("AWS_LAMBDA", "INTENT_MAP"))}


def _with_bytecode(environ: Mapping[str, str]) -> dict[str, str]:
    """Without PYTHONDONTWRITEBYTECODE: the warm-up run writes the .pyc files, as the Lambda bundle ships them.

    Otherwise every sample would compile the modules that have no .pyc yet (ours and the anchors)
    from source, which no deployed cold start does.
    """
    return {k: v for k, v in environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_child(
    module: str,
    env: dict[str, str] | None = None,
    *,
    event: dict[str, Any] | None = None,
    attr: str = "handler",
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """One fresh interpreter that imports ``module`` (and calls ``module.attr(event, None)``): times, peak RSS."""
    child = [sys.executable, "-c", _CHILD.format(module=module, attr=attr)]
    if event is not None:
        child.append(json.dumps(event))
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER, *child],
        cwd=ROOT, env=env if env is not None else plain_env(), capture_output=True, text=True, timeout=timeout_s,
        check=True,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    if report["code"] != 0:
        raise RuntimeError(f"{module} failed: {report['err'].strip().splitlines()[-1:]}")
    out = json.loads(report["out"].strip().splitlines()[-1])
    return {
        "wall_ms": report["wall_ms"],
        "import_ms": out["import_ms"],
        "first_ms": out["first_ms"],
        "maxrss_mib": report["maxrss_kib"] / 1024,
        "answer": out["answer"],
        "log": report["err"],
    }


def envelope(request_type: str, intent: str | None = None, slots: dict[str, str] | None = None) -> dict[str, Any]:
    """An Alexa envelope (for the skill id lambda_env() sets), stamped now."""
    from skill.alexa import build_request_envelope

    return build_request_envelope(request_type, intent, slots)


@contextlib.contextmanager
def bundled_map() -> Iterator[Path]:
    """A temporary copy of the example intents.yaml with its pre-validated map beside it, as in the bundle."""
    from skill.bundle import write_prevalidated

    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp:
        path = Path(tmp) / "intents.yaml"
        shutil.copyfile(ROOT / "intents.yaml", path)
        write_prevalidated(path)
        yield path


def speech_of(answer: Any) -> str:
    """The SSML an answer speaks ('' when none)."""
    try:
        return str(answer["response"]["outputSpeech"]["ssml"])
    except (TypeError, KeyError):
        return ""


def _figures(
    where: str, runs: dict[str, list[dict[str, Any]]], anchor_name: str, goals: dict[str, tuple[str, float] | None],
    extra: dict[str, Any],
) -> list[Figure]:  # fmt: skip
    figures = []
    for key, name, unit in (
        ("wall_ms", "process wall", "ms"),
        ("first_ms", "import + first answer", "ms"),
        ("import_ms", "import only", "ms"),
        ("maxrss_mib", "peak RSS", "MiB"),
    ):
        if key not in goals:
            continue
        samples = {side: [r[key] for r in runs[side]] for side in runs}
        ours, anchor = median(samples["ours"]), median(samples["anchor"])
        figures.append(
            Figure(
                "coldstart",
                f"cold start {where}, {name}",
                unit,
                ours,
                anchor,
                anchor_name,
                goals[key],
                samples=samples,
                extra=extra,
            )
        )
    return figures


def measure_coldstart(repeats: int = 7) -> list[Figure]:
    """Wall time, time to the first answer and peak RSS over ``repeats`` fresh interpreters per side, interleaved."""
    from bench.load import FakeProcess

    figures: list[Figure] = []
    bare = median(run_child("sys")["maxrss_mib"] for _ in range(2))
    launch, locate = envelope("LaunchRequest"), envelope("IntentRequest", "LocateIntent", {"User": "Paulus"})
    fake = FakeProcess().start()
    try:
        with bundled_map() as map_path:
            env = lambda_env(PUSHOVER_API_URL=fake.url, INTENT_MAP=str(map_path))
            figures += _launch_rows(env, launch, repeats, bare)
            figures += _send_rows(env, locate, fake, repeats, bare)
    finally:
        fake.stop()
    figures += _import_rows(plain_env(), repeats, bare)
    return figures


def _paired(measures: dict[str, Callable[[], dict[str, Any]]], repeats: int) -> dict[str, list[dict[str, Any]]]:
    for measure in measures.values():
        measure()  # writes the .pyc files, so no sample pays for compiling
    return interleave(measures, repeats)


def _launch_rows(env: dict[str, str], event: dict[str, Any], repeats: int, bare: float) -> list[Figure]:
    runs = _paired(
        {
            "ours": lambda: run_child(OURS_MODULE, env, event=event),
            "anchor": lambda: run_child(LAUNCH_ANCHOR, env, event=event),
        },
        repeats,
    )
    speeches = {side: speech_of(runs[side][-1]["answer"]) for side in runs}
    if not all(speeches.values()):
        raise RuntimeError(f"a LaunchRequest got no speech: {speeches} {runs['ours'][-1]['log'][-500:]}")
    extra = {"repeats": repeats, "bare_interpreter_rss_mib": bare, "ssml": speeches}
    goals = {"wall_ms": ("<=", 1.5), "first_ms": None, "maxrss_mib": ("<=", 1.5)}
    return _figures("on Lambda, LaunchRequest", runs, f"{LAUNCH_ANCHOR}: minimal ask-sdk-core skill", goals, extra)


def _send_rows(env: dict[str, str], event: dict[str, Any], fake: Any, repeats: int, bare: float) -> list[Figure]:
    def sent_by(module: str) -> dict[str, Any]:
        fake.reset()
        run = run_child(module, env, event=event)
        run["messages"] = fake.stats()["messages"]
        if run["messages"] != 1:
            reached = run["messages"]
            raise RuntimeError(f"{module}: {reached} notifications reached the fake, not 1: {run['log'][-500:]}")
        return run

    runs = _paired({"ours": lambda: sent_by(OURS_MODULE), "anchor": lambda: sent_by(SEND_ANCHOR)}, repeats)
    speeches = {side: speech_of(runs[side][-1]["answer"]) for side in runs}
    extra = {"repeats": repeats, "bare_interpreter_rss_mib": bare, "ssml": speeches, "sent_each_run": 1}
    goals = {"wall_ms": ("<=", 1.3), "first_ms": None, "maxrss_mib": None}
    anchor = f"{SEND_ANCHOR}: ask-sdk-core + requests + Jinja2 + PyYAML"
    return _figures("on Lambda, LocateIntent sent", runs, anchor, goals, extra)


def _import_rows(env: dict[str, str], repeats: int, bare: float) -> list[Figure]:
    runs = _paired(
        {"ours": lambda: run_child(OURS_MODULE, env), "anchor": lambda: run_child(ANCHOR_MODULE, env)}, repeats
    )
    goals = {"wall_ms": ("<=", 1.5), "import_ms": None, "maxrss_mib": ("<=", 1.5)}
    extra = {"repeats": repeats, "bare_interpreter_rss_mib": bare}
    return _figures("off Lambda", runs, f"python -c 'import {ANCHOR_MODULE}' (same environment)", goals, extra)
