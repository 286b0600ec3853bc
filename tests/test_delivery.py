"""One deadline per request (skill.deadline, skill.delivery) against a slow, hanging or dead fake Pushover.

Deadlines are scaled down (a fraction of a second instead of 5.5 s) so the suite stays quick;
what is asserted is counted: answers inside the deadline, copies that reached the fake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skill import alexa, const
from skill.config import Settings
from skill.deadline import ABANDONED, DONE, HANDED_OVER, Call, CallPool, Deadline
from skill.intent_map import parse_intent_map
from skill.outbox import Outbox
from skill.outcome import Delivery
from skill.phrases import phrase
from skill.service import Service, Status
from tests.fake_pushover import TOKEN, USER, FakePushover

T0 = 1_700_000_000.0
KEEP_TRYING = "I'll keep trying"
INTENTS = """
intents:
  ThreeIntent:
    samples: ["tell everyone"]
    notify:
      - {message: "one", title: First}
      - {message: "two", title: Second}
      - {message: "three", title: Third}
    speech: "Told everyone."
  DeviceIntent:
    samples: ["tell {Device} {Text}"]
    slots:
      Device: {type: AMAZON.SearchQuery, required: true}
      Text: {type: AMAZON.SearchQuery, required: true}
    notify:
      - {message: "{{ Text }}", target: "{{ Device }}"}
      - {message: "copy of {{ Text }}"}
    speech: "Sent."
  AlarmIntent:
    samples: ["raise the alarm"]
    notify: {message: "Alarm!", priority: 2, retry: 30, expire: 300, tags: alarm}
    speech: "Alert sent."
"""


class Clock:
    """The outbox's wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(fake_pushover: FakePushover, tmp_path: Path, clock: Clock) -> Iterator[Service]:
    settings = Settings(
        pushover_token=TOKEN, pushover_user=USER, pushover_api_url=fake_pushover.url, connect_timeout_s=1.0,
        read_timeout_s=1.0,
    )  # fmt: skip
    service = Service(parse_intent_map(INTENTS), settings)
    service.outbox = Outbox(str(tmp_path / "outbox.sqlite3"), service.client, service.credentials_for, clock=clock)
    yield service
    service.outbox.close()
    service.close()


def ask(service: Service, intent: str, deadline_s: float, **slots: str) -> tuple[str, Status, list[Delivery]]:
    """One request with a deadline of ``deadline_s``: what is heard, how it ended, what became of each notification."""
    skill = alexa.build_skill(service)
    result = alexa.invoke(
        skill, alexa.build_request_envelope("IntentRequest", intent, slots), deadline=Deadline.after(deadline_s)
    )
    [outcome] = result.outcomes
    return result.response["response"]["outputSpeech"]["ssml"], outcome.status, outcome.deliveries


def wait_until(condition, limit_s: float = 10.0) -> bool:
    """Poll ``condition`` every 20 ms for at most ``limit_s``."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_three_sends_to_a_hanging_pushover_are_answered_by_the_deadline(
    service: Service, fake_pushover: FakePushover
) -> None:
    # Pushover takes each message and answers 3 s later, well inside the 60 s a send waits in the background:
    # only the request's 0.5 s deadline makes the person hear "I'll keep trying" rather than "Told everyone".
    fake_pushover.slow(3.0)
    speech, status, deliveries = ask(service, "ThreeIntent", 0.5)
    assert status == Status.QUEUED and KEEP_TRYING in speech
    assert [d.error for d in deliveries] == ["no answer from Pushover before the deadline"] * 3
    assert len(fake_pushover.requests_to("messages")) == 3  # all three were on their way at once
    outbox = service.outbox
    assert outbox is not None and outbox.depth() == 3  # each waits, held, in the outbox
    fake_pushover.up()  # the hanging sends get their "accepted" now and settle their rows: sent once each
    assert wait_until(lambda: outbox.depth() == 0)
    assert len(fake_pushover.requests_to("messages")) == 3


def test_sends_that_finish_in_time_are_sent_whatever_their_number(
    service: Service, fake_pushover: FakePushover
) -> None:
    fake_pushover.slow(0.3)  # each send takes 0.3 s; one after another they would take 0.9 s
    speech, status, _ = ask(service, "ThreeIntent", 0.75)
    assert (status, speech) == (Status.SENT, "<speak>Told everyone.</speak>")
    assert service.outbox is not None and service.outbox.depth() == 0


@pytest.mark.parametrize("intent", ["ThreeIntent", "AlarmIntent"])
def test_a_send_that_ends_after_the_answer_settles_its_outbox_row_and_is_delivered_once(
    service: Service, fake_pushover: FakePushover, clock: Clock, intent: str
) -> None:
    fake_pushover.slow(1.0)  # accepts everything, 1 s late: past the 0.3 s deadline
    speech, status, _ = ask(service, intent, 0.3)
    assert status == Status.QUEUED and KEEP_TRYING in speech
    outbox = service.outbox
    assert outbox is not None and outbox.depth() >= 1
    assert wait_until(lambda: outbox.depth() == 0)  # the late sends got their "accepted" and settled
    sent = len(fake_pushover.requests_to("messages"))
    for _ in range(60):  # the whole retry life of the items: nothing is left to send again
        clock.now += 120
        outbox.run_once()
    assert len(fake_pushover.requests_to("messages")) == sent == (3 if intent == "ThreeIntent" else 1)
    assert len(fake_pushover.receipts) == (1 if intent == "AlarmIntent" else 0)


def test_a_send_that_fails_after_the_answer_hands_its_row_to_the_outbox(
    service: Service, fake_pushover: FakePushover, clock: Clock
) -> None:
    fake_pushover.enqueue(status=500, delay=0.6, endpoint="messages")
    _, status, _ = ask(service, "AlarmIntent", 0.2)
    assert status == Status.QUEUED
    outbox = service.outbox
    assert outbox is not None
    assert wait_until(lambda: outbox.next_due() is not None and outbox.next_due() < T0 + 60)  # released, not held
    clock.now = outbox.next_due() or T0
    assert outbox.run_once() == 1
    assert [r.form["message"] for r in fake_pushover.requests_to("messages")] == ["Alarm!", "Alarm!"]


def test_a_device_check_past_the_deadline_queues_the_notification_unsent(
    service: Service, fake_pushover: FakePushover, clock: Clock
) -> None:
    # The check's answer comes in 0.8 s, inside the 1 s read timeout: only the 0.3 s deadline stops the wait.
    fake_pushover.enqueue(delay=0.8, endpoint="validate")
    speech, status, _ = ask(service, "DeviceIntent", 0.3, Device="pixel 3", Text="hi")
    assert status == Status.QUEUED and KEEP_TRYING in speech
    outbox = service.outbox
    assert outbox is not None
    [waiting] = [item for item in outbox.pending() if item.validate_devices]
    assert waiting.message.devices == ("pixel 3",)  # unchecked: only the outbox may send it, after checking
    clock.now += 5
    assert outbox.run_once() >= 1
    assert {r.form.get("device") for r in fake_pushover.requests_to("messages")} >= {"pixel3"}


def test_without_an_outbox_a_pushover_slower_than_the_deadline_is_heard_as_unconfirmed(
    fake_pushover: FakePushover,
) -> None:
    settings = Settings(pushover_token=TOKEN, pushover_user=USER, pushover_api_url=fake_pushover.url)
    assert settings.read_timeout_s > 2.0  # Pushover's answer would come inside the read timeout: the deadline ends it
    service = Service(parse_intent_map(INTENTS), settings)
    try:
        fake_pushover.slow(2.0)
        speech, status, deliveries = ask(service, "AlarmIntent", 0.4)
    finally:
        service.close()
    assert status == Status.UNAVAILABLE
    assert speech == f"<speak>{phrase('en-US', 'unconfirmed')}</speak>"
    assert [d.unconfirmed for d in deliveries] == [True]
    assert len(fake_pushover.requests_to("messages")) == 1  # it did reach Pushover: "unconfirmed", not "not sent"


def test_a_call_pool_hands_over_what_has_not_ended() -> None:
    pool = CallPool(limit=1)
    deadline = Deadline.after(0.2)
    release = []
    running = pool.start(lambda call: time.sleep(0.5) or "late", deadline)
    waiting = pool.start(lambda call: release.append("ran") or "never", deadline)
    quick = Deadline.after(0.0)
    pool.wait([running, waiting], deadline)
    kept: list[str] = []
    ended: list[object] = []
    assert running.hand_over(lambda: "row", lambda call, k: ended.append((call.result(), k))) == HANDED_OVER
    assert waiting.hand_over() == ABANDONED
    assert wait_until(lambda: ended == [("late", "row")], 5.0)
    assert release == [] and kept == []
    done = pool.start(lambda call: 42, Deadline.after(5.0))
    pool.wait([done], Deadline.after(5.0))
    assert done.hand_over() == DONE and done.result() == 42
    assert quick.remaining() == 0.0


def test_a_call_pool_keeps_its_workers_for_the_next_calls_and_lets_idle_ones_go() -> None:
    pool = CallPool(limit=4, idle_s=0.2)
    threads: list[str] = []
    for _ in range(5):  # one after another: the worker that ran a call takes the next one
        deadline = Deadline.after(5.0)
        call = pool.start(lambda call: threads.append(threading.current_thread().name), deadline)
        pool.wait([call], deadline)
        assert call.hand_over() == DONE
    assert len(threads) == 5 and pool.workers == 1
    deadline = Deadline.after(5.0)
    gate = threading.Event()
    calls = [pool.start(lambda call: gate.wait(5.0), deadline) for _ in range(6)]
    assert wait_until(lambda: pool.workers == 4, 5.0)  # never more than the limit
    gate.set()
    pool.wait(calls, deadline)
    assert [call.hand_over() for call in calls] == [DONE] * 6  # the two beyond the limit ran when a worker came free
    assert wait_until(lambda: pool.workers == 0, 5.0)  # idle for 0.2 s: every worker ended
    # The two that waited were taken by workers coming free: none of those counts as idle now that
    # every worker has ended, so the next call starts a worker (and is not left waiting for one).
    deadline = Deadline.after(2.0)
    after = pool.start(lambda call: "after", deadline)
    pool.wait([after], deadline)
    assert after.hand_over() == DONE and after.result() == "after"


def test_a_call_pool_runs_every_call_once_while_workers_come_and_go() -> None:
    """Callers in 8 threads, 3 workers at most that end after 20 ms idle: hand-overs race with timeouts."""
    pool = CallPool(limit=3, idle_s=0.02)
    ran: list[int] = []
    calls: list[Call[None]] = []
    deadline = Deadline.after(20.0)

    def caller(first: int) -> None:
        for n in range(first, first + 25):
            calls.append(pool.start(lambda call, n=n: ran.append(n) or time.sleep(0.001), deadline))
            time.sleep(0.03 if n % 5 == 0 else 0.0)  # now and then long enough for idle workers to end

    threads = [threading.Thread(target=caller, args=(i * 25,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20.0)
    pool.wait(calls, deadline)
    assert len(calls) == 200 and [call.hand_over() for call in calls] == [DONE] * 200
    assert sorted(ran) == list(range(200))
    assert wait_until(lambda: pool.workers == 0, 5.0)


def test_the_answer_deadline_leaves_room_for_the_answer() -> None:
    deadline = Deadline.for_request()
    assert 0 < deadline.remaining() <= const.ANSWER_DEADLINE_S - 0.5


def test_retry_now_leaves_a_held_row_alone_until_its_send_has_ended(
    service: Service, fake_pushover: FakePushover, clock: Clock
) -> None:
    fake_pushover.slow(1.0)
    _, status, _ = ask(service, "AlarmIntent", 0.2)
    assert status == Status.QUEUED
    outbox = service.outbox
    assert outbox is not None
    [item] = outbox.pending()
    clock.now += 20
    assert outbox.retry_now(item.id)  # the dashboard's button, while the send is still on its way
    assert outbox.run_once() == 0  # no second copy beside it
    assert wait_until(lambda: outbox.depth() == 0)  # the send was accepted and settled its row
    assert len(fake_pushover.requests_to("messages")) == 1
