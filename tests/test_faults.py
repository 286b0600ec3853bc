"""Fault injection: the whole skill (Service + Outbox + ASK SDK) against a misbehaving fake Pushover.

Each request goes in as an Alexa envelope through ``alexa.invoke``; what the person hears
is read from the response, and what was delivered is counted at the fake server.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.skill import CustomSkill

from skill import alexa
from skill.config import Settings
from skill.errors import OutboxError
from skill.intent_map import IntentMap, parse_intent_map
from skill.outbox import Outbox
from skill.service import Outcome, Service, Status
from tests.fake_pushover import TOKEN, USER, FakePushover, closed_port

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.0
KEEP_TRYING = "I'll keep trying"
NOT_SENT = "the notification was not sent"

INTENTS = """
intents:
  ShoppingIntent:
    samples: ["we need {Item}"]
    slots:
      Item:
        type: AMAZON.Food
        required: true
    notify:
      message: "Please buy {{ Item }}."
      title: Shopping list
    speech: "I added {{ Item }} to the list."
  MessageDeviceIntent:
    samples: ["tell {Device} {Text}"]
    slots:
      Device: {type: AMAZON.SearchQuery, required: true}
      Text: {type: AMAZON.SearchQuery, required: true}
    notify:
      message: "{{ Text }}"
      target: "{{ Device }}"
    speech: "Sent."
  EmergencyIntent:
    samples: ["raise the alarm"]
    notify:
      message: "Emergency! Someone asked Alexa for help."
      priority: 2
      retry: 30
      expire: 300
      tags: alarm
      sound: siren
    speech: "Alert sent."
  AllClearIntent:
    samples: ["all clear"]
    cancel_alerts: {tag: alarm}
"""


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    """One skill wired like the web service: a Service, its Outbox, the ASK SDK skill."""

    fake: FakePushover
    service: Service
    outbox: Outbox
    skill: CustomSkill
    clock: Clock
    path: str

    def say(self, intent: str, **slots: str) -> tuple[str, Outcome]:
        """Send one IntentRequest; what the person hears and what the skill did."""
        envelope = alexa.build_request_envelope("IntentRequest", intent, slots)
        result = alexa.invoke(self.skill, envelope)
        [outcome] = result.outcomes
        return result.response["response"]["outputSpeech"]["ssml"], outcome

    def reopen(self) -> Outbox:
        """Close the outbox (a restart) and open a new one on the same file."""
        self.outbox.close()
        self.outbox = Outbox(self.path, self.service.client, self.service.credentials_for, clock=self.clock)
        self.service.outbox = self.outbox
        return self.outbox

    def delivered(self) -> list[str]:
        """Message texts the fake received, failed attempts included."""
        return [r.form.get("message", "") for r in self.fake.requests_to("messages")]


@pytest.fixture
def intent_map() -> IntentMap:
    return parse_intent_map(INTENTS)


@pytest.fixture
def make_rig(fake_pushover: FakePushover, intent_map: IntentMap, tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(
        *,
        path: str | None = None,
        api_url: str | None = None,
        read_timeout_s: float = 2.0,
        max_age_s: float = 3600.0,
        deadline_s: float | None = None,
        **outbox_options: Any,
    ) -> Rig:
        settings = Settings(
            pushover_token=TOKEN,
            pushover_user=USER,
            pushover_api_url=api_url or fake_pushover.url,
            connect_timeout_s=1.0,
            read_timeout_s=read_timeout_s,
            outbox_path=path or str(tmp_path / "outbox.sqlite3"),
            outbox_max_age_s=max_age_s,
        )
        service = Service(intent_map, settings)
        if deadline_s is not None:  # a request waits this long for Pushover, not the 5.5 s of Alexa's
            service.deadline_s = deadline_s
        clock = outbox_options.pop("clock", Clock())
        outbox = Outbox(
            settings.outbox_path, service.client, service.credentials_for,
            max_age_s=settings.outbox_max_age_s, clock=clock, **outbox_options,
        )  # fmt: skip
        service.outbox = outbox
        rig = Rig(fake_pushover, service, outbox, alexa.build_skill(service), clock, settings.outbox_path)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.outbox.close()
        rig.service.close()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()


def test_pushover_down_then_up_delivers_each_request_exactly_once(rig: Rig) -> None:
    rig.fake.down()
    for item in ("milk", "eggs", "bread"):
        speech, outcome = rig.say("ShoppingIntent", Item=item)
        assert KEEP_TRYING in speech
        assert outcome.status == Status.QUEUED
    assert rig.outbox.depth() == 3
    failed = len(rig.delivered())
    rig.fake.up()
    rig.clock.now += 5
    assert rig.outbox.run_once() == 3
    assert sorted(rig.delivered()[failed:]) == ["Please buy bread.", "Please buy eggs.", "Please buy milk."]
    rig.clock.now += 3600
    assert rig.outbox.run_once() == 0
    assert len(rig.delivered()) == failed + 3


def test_killing_pushover_for_a_minute_loses_nothing(rig: Rig) -> None:
    rig.fake.down()
    count = 12
    for i in range(count):
        speech, _ = rig.say("ShoppingIntent", Item=f"item {i}")
        assert KEEP_TRYING in speech
        rig.clock.now += 1
    for _ in range(12):  # a minute, in 5 s steps: every retry fails
        rig.clock.now += 5
        assert rig.outbox.run_once() == 0
    assert rig.outbox.depth() == count
    failed = len(rig.delivered())
    rig.fake.up()
    rig.clock.now = max(item.next_at for item in rig.outbox.pending())
    assert rig.outbox.run_once() == count
    assert rig.outbox.depth() == 0
    assert sorted(rig.delivered()[failed:]) == sorted(f"Please buy item {i}." for i in range(count))


def test_a_reply_slower_than_usual_but_within_the_read_timeout_is_delivered_once(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(read_timeout_s=1.5)
    rig.fake.enqueue(delay=0.3)
    speech, outcome = rig.say("ShoppingIntent", Item="tea")
    assert outcome.status == Status.SENT
    assert "I added tea to the list." in speech
    assert rig.outbox.depth() == 0
    assert rig.delivered() == ["Please buy tea."]


def test_a_reply_after_the_deadline_is_queued_and_delivered_once_by_the_send_still_running(
    make_rig: Callable[..., Rig],
) -> None:
    rig = make_rig(deadline_s=0.3)
    rig.fake.enqueue(delay=1.0)
    speech, outcome = rig.say("ShoppingIntent", Item="coffee")
    assert KEEP_TRYING in speech
    assert outcome.status == Status.QUEUED
    rig.clock.now += 5
    assert rig.outbox.run_once() == 0  # held: the send that is still running may yet be accepted
    deadline = time.monotonic() + 10
    while rig.outbox.depth() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rig.outbox.depth() == 0  # it was: the send settled the row
    assert rig.delivered() == ["Please buy coffee."]


def run_whole_life(rig: Rig, *, limit: int = 60) -> int:
    """Run every retry at its due time until the outbox is empty or the item has aged out; how many runs."""
    for runs in range(limit):
        due = rig.outbox.next_due()
        if due is None:
            return runs
        rig.clock.now = max(rig.clock.now, due)
        rig.outbox.run_once()
    raise AssertionError(f"the outbox did not empty in {limit} runs")


@pytest.mark.parametrize("late_s", [0.6, 2.0], ids=["accepts-late", "accepts-much-later"])
@pytest.mark.parametrize("intent", ["ShoppingIntent", "EmergencyIntent"])
def test_a_slow_but_accepting_pushover_gets_at_most_one_extra_copy(
    make_rig: Callable[..., Rig], late_s: float, intent: str
) -> None:
    # Scaled down: the request's deadline (0.3 s) stands for Alexa's, a Pushover that accepts every
    # message 0.6 or 2 s late for one that does after 5 or 30 s. The send still running at the
    # answer settles the outbox row when it is accepted; a retry (here: the injected clock jumps
    # past the hold at once, as after a crash) waits for Pushover's answer (up to a minute), so the
    # first "accepted" a retry gets ends the item.
    rig = make_rig(deadline_s=0.3)
    rig.fake.slow(late_s)
    speech, outcome = rig.say(intent, Item="tea")
    assert KEEP_TRYING in speech and outcome.status == Status.QUEUED
    run_whole_life(rig)
    assert rig.outbox.depth() == 0
    assert 1 <= len(rig.delivered()) <= 2, rig.delivered()
    if intent == "EmergencyIntent":
        assert len(rig.fake.receipts) <= 2


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 502, "body": b"<html><body><h1>502 Bad Gateway</h1></body></html>", "content_type": "text/html"},
        {"status": 500},
        {"status": 503, "body": b"upstream connect error", "content_type": "text/plain"},
        {"close": True},
    ],
    ids=["502-html", "500-json", "503-text", "dropped-connection"],
)
def test_a_transient_failure_is_queued_and_delivered_later(reply: dict[str, Any], rig: Rig) -> None:
    rig.fake.enqueue(**reply)
    speech, outcome = rig.say("ShoppingIntent", Item="rice")
    assert KEEP_TRYING in speech
    assert outcome.status == Status.QUEUED
    assert outcome.deliveries[0].outbox_id == rig.outbox.pending()[0].id
    rig.clock.now += 5
    assert rig.outbox.run_once() == 1
    assert rig.delivered()[-1] == "Please buy rice."


def test_connection_refused_is_queued(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(api_url=closed_port())
    speech, _ = rig.say("ShoppingIntent", Item="salt")
    assert KEEP_TRYING in speech
    assert rig.outbox.depth() == 1


@pytest.mark.parametrize(
    ("reply", "status"),
    [({"status": 400, "errors": ["message is too long"]}, Status.REFUSED), ({"status": 429}, Status.QUOTA)],
    ids=["400", "429"],
)
def test_a_permanent_failure_is_never_queued(reply: dict[str, Any], status: Status, rig: Rig) -> None:
    rig.fake.enqueue(**reply)
    speech, outcome = rig.say("ShoppingIntent", Item="sugar")
    assert outcome.status == status
    assert KEEP_TRYING not in speech
    assert rig.outbox.depth() == 0


def test_a_restart_delivers_the_pending_items(rig: Rig) -> None:
    rig.fake.down()
    rig.say("ShoppingIntent", Item="apples")
    rig.say("ShoppingIntent", Item="pears")
    outbox = rig.reopen()
    assert outbox.depth() == 2
    failed = len(rig.delivered())
    rig.fake.up()
    rig.clock.now += 5
    assert outbox.run_once() == 2
    assert sorted(rig.delivered()[failed:]) == ["Please buy apples.", "Please buy pears."]


CRASH = """
import os, signal, sys
from skill.outbox import Outbox
from skill.pushover import Message, PushoverClient

client = PushoverClient(sys.argv[2])
outbox = Outbox(sys.argv[1], client, lambda notifier: None)
print(outbox.put("notify", Message("written just before kill -9"), intent="CrashIntent"), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_right_after_put_loses_nothing(rig: Rig, tmp_path: Path) -> None:
    path = str(tmp_path / "crash.sqlite3")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), path, rig.fake.url],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    item_id = child.stdout.strip()
    with Outbox(path, rig.service.client, rig.service.credentials_for) as survivor:
        [item] = survivor.pending()
        assert (item.id, item.intent, item.message.message) == (item_id, "CrashIntent", "written just before kill -9")
        assert survivor.run_once(time.time() + 5) == 1
    assert rig.delivered() == ["written just before kill -9"]


def test_a_locked_outbox_the_person_hears_the_failure(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.fake.down()
    locker = sqlite3.connect(rig.path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        speech, outcome = rig.say("ShoppingIntent", Item="cheese")
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    assert outcome.status == Status.UNAVAILABLE
    assert NOT_SENT in speech and KEEP_TRYING not in speech
    assert "could not queue for retry" in caplog.text


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unwritable_outbox_the_person_hears_the_failure(
    where: str, make_rig: Callable[..., Rig], tmp_path: Path
) -> None:
    if where == "proc":
        path = "/proc/outbox.sqlite3"  # tests run as root; chmod would not stop root, /proc does
    else:
        (tmp_path / "a-file").write_text("not a directory")
        path = str(tmp_path / "a-file" / "outbox.sqlite3")
    rig = make_rig(path=path)
    rig.fake.down()
    speech, outcome = rig.say("ShoppingIntent", Item="butter")
    assert outcome.status == Status.UNAVAILABLE
    assert NOT_SENT in speech
    rig.fake.up()
    speech, outcome = rig.say("ShoppingIntent", Item="butter")  # direct sends still work
    assert outcome.status == Status.SENT


def test_a_4xx_on_retry_drops_the_item(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.fake.down()
    rig.say("ShoppingIntent", Item="wine")
    rig.fake.up()
    rig.fake.enqueue(status=400, errors=["application token is invalid"])
    rig.clock.now += 5
    assert rig.outbox.run_once() == 0
    assert rig.outbox.depth() == 0
    sent = len(rig.delivered())
    rig.clock.now += 600
    rig.outbox.run_once()
    assert len(rig.delivered()) == sent
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "ShoppingIntent" in errors[0] and "refused" in errors[0]


def test_the_maximum_age_drops_the_item_with_a_log(
    make_rig: Callable[..., Rig], caplog: pytest.LogCaptureFixture
) -> None:
    rig = make_rig(max_age_s=120)
    rig.fake.down()
    rig.say("ShoppingIntent", Item="a very long item name that goes on and on")
    for _ in range(200):
        if not rig.outbox.depth():
            break
        rig.clock.now += 5
        rig.outbox.run_once()
    assert rig.outbox.depth() == 0
    [lost] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    text = "Please buy a very long item name that goes on and on."
    assert "notification lost" in lost and "ShoppingIntent" in lost
    assert text[:40] in lost and text[:41] not in lost
    assert TOKEN not in lost and USER not in lost


def test_secrets_never_in_the_sqlite_file(rig: Rig) -> None:
    rig.fake.down()
    for item in ("oats", "honey"):
        rig.say("ShoppingIntent", Item=item)
    rig.say("MessageDeviceIntent", Device="pixel 3", Text="call home")
    rig.clock.now += 5
    rig.outbox.run_once()  # a failed retry writes its error too
    rig.outbox.close()
    stored = b"".join(p.read_bytes() for p in Path(rig.path).parent.glob("outbox.sqlite3*"))
    assert b"Please buy honey." in stored and b"call home" in stored
    assert TOKEN.encode() not in stored
    assert USER.encode() not in stored


def test_a_device_that_could_not_be_checked_is_checked_before_the_retry(rig: Rig) -> None:
    rig.fake.down()
    speech, _ = rig.say("MessageDeviceIntent", Device="Pixel 3", Text="dinner is ready")
    assert KEEP_TRYING in speech
    assert rig.fake.requests_to("messages") == []  # nothing is sent to devices nobody checked
    rig.fake.up()
    rig.clock.now += 5
    assert rig.outbox.run_once() == 1
    [sent] = rig.fake.requests_to("messages")
    assert sent.form["device"] == "pixel3"


def test_an_unknown_device_found_on_retry_is_never_broadcast(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.fake.down()
    rig.say("MessageDeviceIntent", Device="toaster", Text="hello everyone")
    rig.fake.up()
    rig.clock.now += 5
    assert rig.outbox.run_once() == 0
    assert rig.outbox.depth() == 0
    assert rig.fake.requests_to("messages") == []
    assert "unknown device 'toaster'" in caplog.text


def test_a_queued_emergency_alert_is_sent_as_is(rig: Rig) -> None:
    rig.fake.down()
    speech, _ = rig.say("EmergencyIntent")
    assert KEEP_TRYING in speech
    rig.fake.up()
    rig.clock.now += 5
    assert rig.outbox.run_once() == 1
    form = rig.fake.requests_to("messages")[-1].form
    assert (form["priority"], form["retry"], form["expire"], form["tags"]) == ("2", "30", "300", "alarm")


def test_all_clear_cancels_an_alert_still_waiting_in_the_outbox(rig: Rig) -> None:
    rig.fake.down()
    rig.say("EmergencyIntent")
    rig.say("ShoppingIntent", Item="milk")
    assert rig.outbox.depth() == 2
    rig.fake.up()
    speech, outcome = rig.say("AllClearIntent")
    assert outcome.canceled == 1
    assert "I stopped one alert." in speech
    assert rig.outbox.depth() == 1
    rig.clock.now += 5
    assert rig.outbox.run_once() == 1
    assert rig.delivered()[-1] == "Please buy milk."
    assert rig.fake.requests_to("cancel_by_tag")[-1].path == "/1/receipts/cancel_by_tag/alarm.json"


def test_the_worker_thread_delivers_while_the_skill_keeps_answering(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(clock=time.time, min_interval_s=0.05, max_interval_s=0.2)
    rig.outbox.start()
    rig.fake.enqueue(status=503, times=4)  # the skill's own attempt and three retries fail
    speech, _ = rig.say("ShoppingIntent", Item="pasta")
    assert KEEP_TRYING in speech
    deadline = time.monotonic() + 5
    while rig.outbox.depth() and time.monotonic() < deadline:
        time.sleep(0.01)
    rig.outbox.stop()
    assert rig.outbox.depth() == 0
    assert rig.delivered() == ["Please buy pasta."] * 5  # four failures, then exactly one delivery


def test_the_web_service_queues_and_healthz_shows_the_outbox(fake_pushover: FakePushover, tmp_path: Path) -> None:
    from skill.web import create_app, skill_of

    intents = tmp_path / "intents.yaml"
    intents.write_text(INTENTS, encoding="utf-8")
    settings = Settings(
        intent_map_path=str(intents), pushover_token=TOKEN, pushover_user=USER, pushover_api_url=fake_pushover.url,
        alexa_verify=False, outbox_path=str(tmp_path / "web.sqlite3"), connect_timeout_s=1.0, read_timeout_s=1.0,
    )  # fmt: skip
    app = create_app({"TESTING": True, "SETTINGS": settings})
    ext = skill_of(app)
    try:
        assert ext.service.outbox is ext.outbox
        client = app.test_client()
        assert client.get("/healthz").get_json()["outbox"] == {"depth": 0, "oldest_age_s": None, "set_aside": 0}
        fake_pushover.down()
        envelope = alexa.build_request_envelope("IntentRequest", "ShoppingIntent", {"Item": "figs"})
        response = client.post("/alexa", json=envelope)
        assert KEEP_TRYING in response.get_json()["response"]["outputSpeech"]["ssml"]
        health = client.get("/healthz").get_json()["outbox"]
        assert health["depth"] == 1 and 0 <= health["oldest_age_s"] < 60
        with sqlite3.connect(settings.outbox_path) as other:  # a row spoilt by hand or a broken disk
            other.execute("UPDATE pending SET created_at = 'not a time'")
        other.close()
        fake_pushover.up()
        ext.outbox.run_once(time.time() + 60)
        assert client.get("/healthz").get_json()["outbox"] == {"depth": 0, "oldest_age_s": None, "set_aside": 1}
    finally:
        ext.close()
    assert ext.outbox is not None
    with pytest.raises(OutboxError, match="closed"):  # closed with the app
        ext.outbox.depth()
