"""Row "dispatch": one LocateIntent through the skill in-process, no network (dry run)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.anchor_skill import build_anchor_skill
from bench.anchor_skill import dispatch as anchor_dispatch
from bench.harness import Figure, interleave, median

EXAMPLE_MAP = Path(__file__).resolve().parent.parent / "intents.yaml"


def locate_body() -> bytes:
    """A LocateIntent request body, shaped like Alexa's, for User=Paulus."""
    from skill.alexa import build_request_envelope

    return json.dumps(build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"})).encode()


def build_ours() -> tuple[Callable[[bytes], bytes], Callable[[], None]]:
    """build_skill() over the example map with a dry-run Service: body in, body out (as the endpoint does); close."""
    from skill.alexa import build_skill, invoke, parse_envelope
    from skill.config import Settings
    from skill.intent_map import load_intent_map
    from skill.service import Service

    service = Service(load_intent_map(EXAMPLE_MAP), Settings(dry_run=True), dry_run=True)
    skill = build_skill(service)

    def dispatch(body: bytes) -> bytes:
        return json.dumps(invoke(skill, parse_envelope(body), payload=body).response).encode()

    return dispatch, service.close


def build_anchor() -> Callable[[bytes], bytes]:
    """The one-handler ask-sdk-core skill of bench/anchor_skill.py."""
    skill = build_anchor_skill()
    return lambda body: anchor_dispatch(skill, body)


def time_per_call_us(call: Callable[[bytes], bytes], body: bytes, n: int) -> float:
    """Mean µs per call over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        call(body)
    return (time.perf_counter() - start) / n * 1e6


def measure_dispatch(n: int = 2000, repeats: int = 7) -> list[Figure]:
    """µs per request for ours and the anchor, interleaved, median of ``repeats`` samples of ``n`` calls."""
    body = locate_body()
    (ours, close), anchor = build_ours(), build_anchor()
    try:
        samples, ours_speech, anchor_speech = _sample(ours, anchor, body, n, repeats)
    finally:
        close()
    return [
        Figure(
            row="dispatch",
            name="dispatch LocateIntent",
            unit="µs/req",
            ours=median(samples["ours"]),
            anchor=median(samples["anchor"]),
            anchor_name="bench/anchor_skill.py: one handler, one speak (ask-sdk-core)",
            goal=("<=", 1.3),
            samples=samples,
            extra={"n": n, "repeats": repeats, "ours_ssml": ours_speech, "anchor_ssml": anchor_speech},
        )
    ]


def _sample(
    ours: Callable[[bytes], bytes], anchor: Callable[[bytes], bytes], body: bytes, n: int, repeats: int
) -> tuple[dict[str, list[float]], str, str]:
    ours_speech = json.loads(ours(body))["response"]["outputSpeech"]["ssml"]
    anchor_speech = json.loads(anchor(body))["response"]["outputSpeech"]["ssml"]
    for _ in range(max(n // 10, 10)):  # warm caches (templates, SDK lookups) on both sides
        ours(body)
        anchor(body)
    samples = interleave(
        {"ours": lambda: time_per_call_us(ours, body, n), "anchor": lambda: time_per_call_us(anchor, body, n)},
        repeats,
    )
    return samples, ours_speech, anchor_speech


# --------------------------------------------------------------------------- where the time goes


class _Clock:
    """Wall time spent inside the wrapped calls, per step name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, step: str, call: Callable[..., Any]) -> Callable[..., Any]:
        self.spent[step] = 0.0

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.spent[step] += time.perf_counter() - start

        return timed


def measure_parts(n: int = 200, rounds: int = 15) -> dict[str, dict[str, float]]:
    """µs per request of each step of a dispatch, ours and the anchor, as they run in the row (medians of rounds).

    The steps are timed in place (the SDK's serializer, the skill's ``invoke`` and ``Service.handle_intent``
    wrapped in a clock), so each is what it costs amid the rest of the request, not in a loop of its own.
    """
    import bench.anchor_skill
    import skill.alexa
    from skill.alexa import build_skill, invoke, parse_envelope
    from skill.config import Settings
    from skill.intent_map import load_intent_map
    from skill.service import Service

    body = locate_body()
    clocks = {"ours": _Clock(), "anchor": _Clock()}
    service = Service(load_intent_map(EXAMPLE_MAP), Settings(dry_run=True), dry_run=True)
    ours_skill, anchor_skill = build_skill(service), build_anchor_skill()
    ours_ser, anchor_ser = skill.alexa._serializer, bench.anchor_skill.serializer
    ours_ser.deserialize = clocks["ours"].wrap("SDK deserialize", ours_ser.deserialize)  # type: ignore[method-assign]
    anchor_ser.deserialize = clocks["anchor"].wrap("SDK deserialize", anchor_ser.deserialize)  # type: ignore[method-assign]
    ours_skill.invoke = clocks["ours"].wrap("skill.invoke", ours_skill.invoke)  # type: ignore[method-assign]
    anchor_skill.invoke = clocks["anchor"].wrap("skill.invoke", anchor_skill.invoke)  # type: ignore[method-assign]
    service.handle_intent = clocks["ours"].wrap("Service.handle_intent", service.handle_intent)  # type: ignore[method-assign]
    parse = clocks["ours"].wrap("parse_envelope", parse_envelope)
    sides = {
        "ours": lambda: json.dumps(invoke(ours_skill, parse(body), payload=body).response).encode(),
        "anchor": lambda: anchor_dispatch(anchor_skill, body),
    }
    samples: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    try:
        for side in sides.values():
            for _ in range(max(n // 2, 10)):
                side()
        for i in range(rounds):
            for side in sorted(sides, reverse=bool(i % 2)):
                clock = clocks[side]
                clock.spent = dict.fromkeys(clock.spent, 0.0)
                start = time.perf_counter()
                for _ in range(n):
                    sides[side]()
                spent = {"whole": time.perf_counter() - start, **clock.spent}
                for step, seconds in spent.items():
                    samples[side].setdefault(step, []).append(seconds / n * 1e6)
    finally:
        wrapped = [(ours_ser, "deserialize"), (anchor_ser, "deserialize"), (ours_skill, "invoke"),
                   (anchor_skill, "invoke"), (service, "handle_intent")]  # fmt: skip
        for obj, name in wrapped:
            delattr(obj, name)  # the instance's own attribute: the method of its class is back
        service.close()
    return {side: {step: median(values) for step, values in steps.items()} for side, steps in samples.items()}
