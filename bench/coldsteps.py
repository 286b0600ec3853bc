"""Where a cold start's milliseconds go: each step in a fresh interpreter, on top of the ones before.

``python -m bench.profile coldstart`` prints these steps for ours and for the two anchors of the
cold-start rows (bench/anchor_lambda.py, bench/anchor_lambda_send.py), then ``python -X
importtime`` of ours. Each step is timed with ``perf_counter`` and the resident set read from
/proc, as medians over fresh interpreters, in the environment of the cold-start rows (as on
Lambda, the pre-validated map beside a copy of intents.yaml, the fake Pushover for sends) except
that ``AWS_LAMBDA_FUNCTION_NAME`` is unset, so that importing the handler module does not build
the skill before the step that does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.harness import median

_PRELUDE = """
import importlib, json, sys, time
def rss():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024
out, mark = [], [time.perf_counter(), rss()]
def step(label):
    now_t, now_m = time.perf_counter(), rss()
    out.append((label, (now_t - mark[0]) * 1000, now_m - mark[1]))
    mark[:] = [time.perf_counter(), rss()]
def imports(label, modules):
    for module in modules.split():
        importlib.import_module(module)
    step(label)
launch, locate = json.loads(sys.argv[1]), json.loads(sys.argv[2])
"""
OURS = (
    _PRELUDE
    + """
imports("ask_sdk_core.skill_builder and the SDK modules the anchor uses",
        "ask_sdk_core.skill_builder ask_sdk_core.dispatch_components ask_sdk_core.handler_input "
        "ask_sdk_core.utils ask_sdk_model")
imports("rest of the SDK that skill.alexa uses (serializer, cards)", "ask_sdk_core.serialize ask_sdk_model.ui")
imports("standard library the anchor does not load (logging, dataclasses, pickle, zlib, …)",
        "logging dataclasses contextvars zlib pickle json enum")
imports("skill modules: errors, const, config, logs, phrases, request_check, deadline", "skill.errors skill.const "
        "skill.config skill.logs skill.phrases skill.request_check skill.deadline")
imports("skill modules: intent_map.spec, people, outcome, templates, render", "skill.intent_map.spec skill.people "
        "skill.outcome skill.templates skill.render")
imports("skill modules: service, alexa, bundle, lambda_function", "skill.service skill.alexa skill.bundle "
        "skill.lambda_function")
import skill.lambda_function as lf
runtime = lf.build_runtime()
step("build_runtime(): settings, the pre-validated map, Service, the skill")
answer = runtime.handle(launch)
step("first LaunchRequest (SDK deserialize, dispatch, speech)")
imports("skill modules a send loads first: pushover, attachments, delivery", "skill.pushover skill.attachments "
        "skill.delivery")
imports("jinja2 (loaded by the first render of a template)", "jinja2 jinja2.sandbox jinja2.meta jinja2.nodes")
imports("requests (loaded by the first send)", "requests")
answer = runtime.handle(locate)
step("first LocateIntent: templates compiled, session opened, sent")
print(json.dumps(out))
"""
)
LAUNCH_ANCHOR = (
    _PRELUDE
    + """
imports("ask_sdk_core.skill_builder and the SDK modules the anchor uses",
        "ask_sdk_core.skill_builder ask_sdk_core.dispatch_components ask_sdk_core.handler_input "
        "ask_sdk_core.utils ask_sdk_model")
import bench.anchor_lambda as anchor
step("bench/anchor_lambda.py: its handler built")
anchor.handler(launch, None)
step("first LaunchRequest")
print(json.dumps(out))
"""
)
SEND_ANCHOR = (
    _PRELUDE
    + """
imports("ask_sdk_core.skill_builder and the SDK modules the anchor uses",
        "ask_sdk_core.skill_builder ask_sdk_core.dispatch_components ask_sdk_core.handler_input "
        "ask_sdk_core.utils ask_sdk_model")
imports("jinja2", "jinja2")
imports("yaml", "yaml")
imports("requests", "requests")
import bench.anchor_lambda_send as anchor
step("bench/anchor_lambda_send.py: YAML read, templates compiled, session made")
anchor.handler(locate, None)
step("first LocateIntent sent")
print(json.dumps(out))
"""
)


def steps(code: str, env: dict[str, str], events: tuple[dict[str, Any], dict[str, Any]], runs: int = 5):
    """Median ms and MiB each step adds, over ``runs`` fresh interpreters."""
    from bench.coldstart import ROOT

    samples = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", code, json.dumps(events[0]), json.dumps(events[1])],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        samples.append(json.loads(proc.stdout.splitlines()[-1]))
    return [
        (label, median(run[i][1] for run in samples), median(run[i][2] for run in samples))
        for i, (label, _, _) in enumerate(samples[0])
    ]


def print_steps(runs: int = 5) -> None:
    """The three step tables: ours, then each anchor."""
    from bench.coldstart import bundled_map, envelope, lambda_env
    from bench.load import FakeProcess, server_env

    events = (envelope("LaunchRequest"), envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}))
    with FakeProcess() as fake, bundled_map() as map_path:
        env = lambda_env(PUSHOVER_API_URL=fake.url, INTENT_MAP=str(map_path))
        env.pop("AWS_LAMBDA_FUNCTION_NAME")
        env["PYTHONPATH"] = server_env()["PYTHONPATH"]
        for title, code in (
            ("ours (skill.lambda_function)", OURS),
            ("anchor for the LaunchRequest row (bench/anchor_lambda.py)", LAUNCH_ANCHOR),
            ("anchor for the LocateIntent row (bench/anchor_lambda_send.py)", SEND_ANCHOR),
        ):
            rows = steps(code, env, events, runs)
            print(f"{title}: {sum(ms for _, ms, _ in rows):.1f} ms after interpreter start")
            print(f"{'ms':>7} {'MiB':>6}  what each step adds (median of {runs} fresh interpreters)")
            for label, ms, mib in rows:
                print(f"{ms:7.1f} {mib:6.1f}  {label}")
            print()
