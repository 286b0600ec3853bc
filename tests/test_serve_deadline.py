"""A real ``python -m skill serve`` against a busy, hanging and dead fake Pushover: every answer inside 6.5 s.

Counted, not timed: what each person hears (sent, or "I'll keep trying" when only the deadline can
have ended the wait), and how many copies of each notification reached the fake Pushover.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from skill.alexa import build_request_envelope
from tests.cert_host import wait_until
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.test_serve import STOP_TIMEOUT_S, serving

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")

KEEP_TRYING = "I'll keep trying"
INTENTS = """
intents:
  ShoppingIntent:
    samples: ["we need {Item}"]
    slots:
      Item: {type: AMAZON.Food, required: true}
    notify:
      message: "Please buy {{ Item }}."
    speech: "I added {{ Item }} to the list."
  EveryoneIntent:
    samples: ["tell everyone {Text}"]
    slots:
      Text: {type: AMAZON.SearchQuery, required: true}
      Device: {type: AMAZON.SearchQuery}
    notify:
      - {message: "one: {{ Text }}"}
      - {message: "two: {{ Text }}", priority: 2, retry: 30, expire: 300}
      - {message: "three: {{ Text }}", target: "{{ Device }}"}
    speech: "Told everyone."
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("PUSHOVER_", "ALEXA_")) or name in {"INTENT_MAP", "LOG_FORMAT", "ATTACHMENT_DIRS"}:
            monkeypatch.delenv(name)


@dataclass
class Answer:
    status: int
    speech: str
    #: how long the answer took, for bench/deadline.py (make bench); the tests count what was heard instead
    took_s: float


def ask_at_once(url: str, bodies: list[bytes]) -> list[Answer]:
    """Post every body at once, each on its own connection; the answers, in order."""

    def post(body: bytes) -> Answer:
        started = time.perf_counter()
        response = requests.post(f"{url}/alexa", data=body, headers={"Content-Type": "application/json"}, timeout=20)
        took = time.perf_counter() - started
        speech = response.json()["response"]["outputSpeech"]["ssml"] if response.status_code == 200 else ""
        return Answer(response.status_code, speech, took)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def body(intent: str, **slots: str) -> bytes:
    return json.dumps(build_request_envelope("IntentRequest", intent, slots)).encode()


def heard(answers: list[Answer], words: str) -> int:
    """How many answers were a 200 in which the person hears ``words``."""
    return sum(a.status == 200 and words in a.speech for a in answers)


def outbox_depth(url: str) -> int:
    return int(requests.get(f"{url}/healthz", timeout=10).json()["outbox"]["depth"])


def test_every_answer_comes_within_the_deadline_whatever_pushover_does(tmp_path: Path) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text(INTENTS, encoding="utf-8")
    with FakePushover() as fake:
        env = {
            "PUSHOVER_API_URL": fake.url, "PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER,
            "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
        }  # fmt: skip
        with serving(tmp_path, "--no-verify", "--intent-map", str(intents), env=env) as served:
            # Busy: 64 people at once, and Pushover answers none until all 64 messages are with it. A server
            # that took them a few at a time would leave the first ones to their deadline ("I'll keep trying").
            fake.slow(None)
            with ThreadPoolExecutor(max_workers=1) as one:
                asked = one.submit(ask_at_once, served.url, [body("ShoppingIntent", Item=f"i{n}") for n in range(64)])
                assert wait_until(lambda: len(fake.requests_to("messages")) == 64, 20.0)
                fake.up()
                answers = asked.result()
            assert heard(answers, "I added") == 64, answers  # all really sent, none left to the deadline
            assert len(fake.requests_to("messages")) == 64

            # Timing out: Pushover takes every message and never answers; three of them per request,
            # and a device check for the third. Only the deadline ends the wait (a send waits 60 s for Pushover,
            # the client 20 s for the skill): every person hears "I'll keep trying".
            fake.reset_records()
            fake.slow(None)
            bodies = [body("EveryoneIntent", Text=f"t{i}", Device="pixel 3") for i in range(8)]
            answers = ask_at_once(served.url, bodies)
            assert heard(answers, KEEP_TRYING) == 8, answers
            assert outbox_depth(served.url) == 3 * 8  # two held while still being sent, one waiting for its check
            fake.up()  # the hanging sends get their "accepted" now
            deadline = time.monotonic() + 15
            while outbox_depth(served.url) > 8 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert outbox_depth(served.url) <= 8  # the sends settled their rows; only the unchecked ones may wait
            sent = [r.form["message"] for r in fake.requests_to("messages")]
            for i in range(8):  # once each: no copy of what was accepted late
                assert (sent.count(f"one: t{i}"), sent.count(f"two: t{i}")) == (1, 1), sent
                assert sent.count(f"three: t{i}") <= 1

            # Down: every call fails at once.
            fake.down()
            answers = ask_at_once(served.url, [body("ShoppingIntent", Item=f"x{i}") for i in range(8)])
            assert heard(answers, KEEP_TRYING) == 8, answers

            served.proc.terminate()
            assert served.proc.wait(timeout=STOP_TIMEOUT_S) == 0, served.stderr
    assert "Traceback" not in served.stderr
