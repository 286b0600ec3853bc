"""The SQLite outbox against the fake Pushover server, driven by an injected clock (no sleeping)."""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skill import const
from skill.attachments import Attachment
from skill.config import Credentials
from skill.errors import OutboxError
from skill.outbox import BUSY_TIMEOUT_S, JITTER_FRACTION, Outbox
from skill.pushover import Message, PushoverClient
from tests.fake_pushover import TOKEN, USER, FakePushover, closed_port

CREDS = Credentials(TOKEN, USER)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--boundary\r\n\x00"
T0 = 1_700_000_000.0


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def default_credentials(notifier: str) -> Credentials | None:
    return CREDS if notifier == const.DEFAULT_NOTIFIER else None


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(fake_pushover: FakePushover) -> Iterator[PushoverClient]:
    with PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=2.0) as client:
        yield client


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "outbox.sqlite3")


@pytest.fixture
def make_outbox(db_path: str, client: PushoverClient, clock: Clock) -> Iterator[Callable[..., Outbox]]:
    """Build Outboxes (on the test's file by default); every one is closed after the test."""
    made: list[Outbox] = []

    def make(**kwargs: object) -> Outbox:
        options: dict[str, object] = {"clock": clock, **kwargs}
        path = str(options.pop("path", db_path))
        creds = options.pop("credentials_for", default_credentials)
        outbox = Outbox(path, options.pop("client", client), creds, **options)  # type: ignore[arg-type]
        made.append(outbox)
        return outbox

    yield make
    for outbox in made:
        outbox.close()


@pytest.fixture
def outbox(make_outbox: Callable[..., Outbox]) -> Outbox:
    return make_outbox()


def messages(fake: FakePushover) -> list[dict[str, str]]:
    return [r.form for r in fake.requests_to("messages")]


def run_until_empty(outbox: Outbox, clock: Clock, *, limit: int = 100) -> list[float]:
    """Run every retry at its due time until the outbox is empty; the times of the runs."""
    times = []
    for _ in range(limit):
        due = outbox.next_due()
        if due is None:
            return times
        clock.now = due
        times.append(due)
        outbox.run_once()
    raise AssertionError("the outbox never emptied")


# -- storing -------------------------------------------------------------------


def test_put_stores_and_schedules_the_first_retry(outbox: Outbox, clock: Clock) -> None:
    first = outbox.put("notify", Message("hello"), intent="HelloIntent")
    second = outbox.put("notify", Message("again"))
    assert first != second
    assert outbox.depth() == 2
    assert outbox.oldest_age_s() == 0.0
    assert outbox.next_due() == T0 + const.MIN_RETRY_INTERVAL_S
    clock.now += 7
    assert outbox.oldest_age_s() == 7.0
    [item, _] = outbox.pending()
    assert (item.id, item.notifier, item.intent, item.attempts) == (first, "notify", "HelloIntent", 1)


def test_an_empty_outbox(outbox: Outbox) -> None:
    assert outbox.depth() == 0
    assert outbox.oldest_age_s() is None
    assert outbox.next_due() is None
    assert outbox.run_once() == 0


def test_every_field_and_the_attachment_survive_a_reopen(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    message = Message(
        "Ünïcode ✓ message", title="Title", devices=("pixel3", "iphone"), sound="siren", url="https://example.com/",
        url_title="Example", priority=1, ttl=600, timestamp=1_700_000_000, html=True, callback="https://cb.example/",
        tags="a,b", attachment=Attachment("snap.png", "image/png", PNG),
    )  # fmt: skip
    first = make_outbox()
    first.put("notify", message, intent="AllIntent")
    first.close()

    again = make_outbox()
    [item] = again.pending()
    assert item.message == message
    clock.now += 5
    assert again.run_once() == 1
    [request] = fake_pushover.requests_to("messages")
    assert {k: v for k, v in request.form.items() if k not in ("token", "user")} == message.to_form()
    assert request.files["attachment"] == ("snap.png", "image/png", PNG)


def test_an_empty_attachment_stays_an_attachment(outbox: Outbox) -> None:
    outbox.put("notify", Message("hi", attachment=Attachment("a.png", "image/png", b"")))
    [item] = outbox.pending()
    assert item.message.attachment == Attachment("a.png", "image/png", b"")


def test_an_emergency_alert_goes_as_is(outbox: Outbox, fake_pushover: FakePushover, clock: Clock) -> None:
    outbox.put("notify", Message("Help!", priority=2, retry=30, expire=300, tags="alarm"))
    clock.now += 1800  # half an hour late: retry and expire start when Pushover receives it
    assert outbox.run_once() == 1
    [form] = messages(fake_pushover)
    assert (form["priority"], form["retry"], form["expire"], form["tags"]) == ("2", "30", "300", "alarm")
    assert fake_pushover.receipts


# -- the schedule --------------------------------------------------------------


def test_nothing_is_retried_sooner_than_five_seconds(outbox: Outbox, fake_pushover: FakePushover, clock: Clock) -> None:
    outbox.put("notify", Message("hi"))
    assert outbox.run_once(T0 + 4.99) == 0
    assert messages(fake_pushover) == []
    assert outbox.run_once(T0 + 5.0) == 1
    assert len(messages(fake_pushover)) == 1


def test_backoff_doubles_up_to_five_minutes_with_a_little_jitter(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    outbox = make_outbox(max_age_s=1e6)
    fake_pushover.down()
    outbox.put("notify", Message("hi"))
    waits = []
    for _ in range(9):
        clock.now = outbox.next_due()
        assert outbox.run_once() == 0
        waits.append(outbox.next_due() - clock.now)
    for wait, base in zip(waits, [10, 20, 40, 80, 160, 300, 300, 300, 300], strict=True):
        assert base <= wait <= min(300.0, base * (1 + JITTER_FRACTION)), waits
    assert len(messages(fake_pushover)) == 9
    assert outbox.pending()[0].attempts == 10


def test_the_last_attempt_falls_on_the_maximum_age_then_the_item_is_lost(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = make_outbox(max_age_s=60)
    fake_pushover.down()
    text = "The location of Paulus has been queried via Alexa."
    outbox.put("notify", Message(text), intent="LocateIntent")
    run_until_empty(outbox, clock)
    assert len(messages(fake_pushover)) == 4  # at 5, 15, 35 s (or a little later) and the last at 60 s
    assert outbox.depth() == 0
    [lost] = [r for r in caplog.records if r.levelno == logging.ERROR]
    line = lost.getMessage()
    assert "notification lost" in line and "LocateIntent" in line
    assert text[:40] in line and text[:41] not in line
    assert TOKEN not in line and USER not in line
    assert "503" in line  # the last error says why


def test_a_lost_item_counts_its_attempts_in_the_singular_and_the_plural(
    outbox: Outbox, fake_pushover: FakePushover, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_pushover.down()
    outbox.put("notify", Message("retried"), intent="RetriedIntent")  # the caller's own send was attempt 1
    clock.now = outbox.next_due() or T0
    assert outbox.run_once() == 0  # attempt 2, refused for now (503)
    outbox.put("notify", Message("only"), intent="OnlyIntent")
    clock.now += const.DEFAULT_OUTBOX_MAX_AGE_S + 1
    with caplog.at_level(logging.ERROR):
        for _ in range(5):  # bounded: each run drops what is too old
            outbox.run_once()
    assert outbox.depth() == 0
    lost = {r.getMessage().split(",")[0]: r.getMessage() for r in caplog.records if "lost" in r.getMessage()}
    assert "(1 attempt; last error: -)" in lost["notification lost: intent OnlyIntent"]
    assert "(2 attempts; last error: Pushover failed" in lost["notification lost: intent RetriedIntent"]


def test_the_final_attempt_is_exactly_at_the_deadline(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    outbox = make_outbox(max_age_s=60)
    fake_pushover.down()
    outbox.put("notify", Message("hi"))
    runs = []
    while outbox.depth():
        clock.now = outbox.next_due()
        before = len(messages(fake_pushover))
        outbox.run_once()
        if len(messages(fake_pushover)) > before:
            runs.append(clock.now - T0)
    assert runs[-1] == 60.0
    assert all(later - earlier >= 5.0 for earlier, later in itertools.pairwise(runs))


def test_an_item_found_too_old_after_a_restart_is_dropped_unsent(
    outbox: Outbox, fake_pushover: FakePushover, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox.put("notify", Message("stale"), intent="StaleIntent")
    clock.now += const.DEFAULT_OUTBOX_MAX_AGE_S + 1
    assert outbox.run_once() == 0
    assert messages(fake_pushover) == []
    assert outbox.depth() == 0
    assert "notification lost" in caplog.text and "StaleIntent" in caplog.text


# -- what a retry's answer does ------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 400, "errors": ["message cannot be blank"]},
        {"status": 429},
        {"status": 200, "json": {"status": 0, "errors": ["user key is invalid"]}},
    ],
    ids=["400", "429", "status-0"],
)
def test_a_refusal_on_retry_drops_the_item_for_good(
    reply: dict[str, object],
    outbox: Outbox,
    fake_pushover: FakePushover,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox.put("notify", Message("refuse me"), intent="RefuseIntent")
    fake_pushover.enqueue(**reply)  # type: ignore[arg-type]
    clock.now += 5
    assert outbox.run_once() == 0
    assert outbox.depth() == 0
    clock.now += 3600
    assert outbox.run_once() == 0
    assert len(messages(fake_pushover)) == 1
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "dropped" in error.getMessage() and "RefuseIntent" in error.getMessage()


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 500},
        {"status": 502, "body": b"<html><body>Bad Gateway</body></html>", "content_type": "text/html"},
        {"status": 200, "body": b"<html>captive portal</html>", "content_type": "text/html"},
        {"close": True},
    ],
    ids=["500", "502-html", "200-not-json", "dropped"],
)
def test_a_transient_failure_keeps_the_item(
    reply: dict[str, object], outbox: Outbox, fake_pushover: FakePushover, clock: Clock
) -> None:
    outbox.put("notify", Message("keep me"))
    fake_pushover.enqueue(**reply)  # type: ignore[arg-type]
    clock.now += 5
    assert outbox.run_once() == 0
    [item] = outbox.pending()
    assert item.attempts == 2
    assert item.last_error
    clock.now = item.next_at
    assert outbox.run_once() == 1
    assert outbox.depth() == 0


def test_connection_refused_keeps_the_item(make_outbox: Callable[..., Outbox], clock: Clock) -> None:
    with PushoverClient(closed_port(), connect_timeout_s=1.0, read_timeout_s=1.0) as nowhere:
        outbox = make_outbox(client=nowhere)
        outbox.put("notify", Message("hi"))
        clock.now += 5
        assert outbox.run_once() == 0
        assert outbox.depth() == 1
        assert "refused" in (outbox.pending()[0].last_error or "")


def test_a_read_timeout_is_retried(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    outbox = make_outbox(read_timeout_s=0.2)
    outbox.put("notify", Message("slow"))
    fake_pushover.enqueue(delay=1.0)
    clock.now += 5
    assert outbox.run_once() == 0  # Pushover may have it; at-least-once retries all the same
    assert outbox.next_due() >= clock.now + 0.2 + const.MIN_RETRY_INTERVAL_S  # not before that attempt ended
    clock.now = outbox.next_due()
    assert outbox.run_once() == 1
    assert [f["message"] for f in messages(fake_pushover)] == ["slow", "slow"]


# -- devices -------------------------------------------------------------------


def test_unchecked_devices_are_resolved_before_sending(
    outbox: Outbox, fake_pushover: FakePushover, clock: Clock
) -> None:
    outbox.put("notify", Message("hi", devices=("Pixel 3",)), validate_devices=True)
    clock.now += 5
    assert outbox.run_once() == 1
    assert [r.endpoint for r in fake_pushover.requests] == ["validate", "messages"]
    assert fake_pushover.last.form["device"] == "pixel3"


def test_an_unknown_device_drops_the_item_and_sends_nothing(
    outbox: Outbox, fake_pushover: FakePushover, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox.put("notify", Message("hi", devices=("toaster",)), validate_devices=True, intent="MessageDeviceIntent")
    clock.now += 5
    assert outbox.run_once() == 0
    assert outbox.depth() == 0
    assert messages(fake_pushover) == []
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "toaster" in error.getMessage() and "nothing sent" in error.getMessage()


def test_a_device_check_that_fails_is_tried_again(outbox: Outbox, fake_pushover: FakePushover, clock: Clock) -> None:
    outbox.put("notify", Message("hi", devices=("iphone",)), validate_devices=True)
    fake_pushover.enqueue(status=503, endpoint="validate")
    clock.now += 5
    assert outbox.run_once() == 0
    assert messages(fake_pushover) == []
    clock.now = outbox.next_due()
    assert outbox.run_once() == 1
    assert fake_pushover.last.form["device"] == "iphone"


def test_checked_devices_are_stored_so_a_later_retry_skips_the_check(
    outbox: Outbox, fake_pushover: FakePushover, clock: Clock
) -> None:
    outbox.put("notify", Message("hi", devices=("PIXEL3",)), validate_devices=True)
    fake_pushover.enqueue(status=500, endpoint="messages")
    clock.now += 5
    outbox.run_once()
    [item] = outbox.pending()
    assert (item.validate_devices, item.message.devices) == (False, ("pixel3",))


# -- credentials ---------------------------------------------------------------


def test_credentials_are_looked_up_by_notifier_name_at_send_time(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    asked: list[str] = []
    available: dict[str, Credentials] = {}

    def lookup(notifier: str) -> Credentials | None:
        asked.append(notifier)
        return available.get(notifier)

    outbox = make_outbox(credentials_for=lookup)
    outbox.put("family", Message("hi"))
    clock.now += 5
    assert outbox.run_once() == 0  # no credentials (yet): the item waits
    assert outbox.depth() == 1
    available["family"] = CREDS
    clock.now = outbox.next_due()
    assert outbox.run_once() == 1
    assert asked == ["family", "family"]


def test_a_notifier_gone_from_the_map_waits_rather_than_crashing(
    make_outbox: Callable[..., Outbox], clock: Clock
) -> None:
    def lookup(notifier: str) -> Credentials | None:
        raise KeyError(notifier)

    outbox = make_outbox(credentials_for=lookup)
    outbox.put("removed", Message("hi"))
    clock.now += 5
    assert outbox.run_once() == 0
    assert outbox.depth() == 1


def test_secrets_never_reach_the_file(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock, db_path: str
) -> None:
    outbox = make_outbox()
    fake_pushover.down()
    for i in range(3):
        outbox.put("notify", Message(f"secretless {i}", attachment=Attachment("a.png", "image/png", PNG)))
    clock.now += 5
    outbox.run_once()

    def stored() -> bytes:
        return b"".join(p.read_bytes() for p in Path(db_path).parent.glob("outbox.sqlite3*"))

    assert b"secretless 2" in stored()
    outbox.close()
    everything = stored()
    assert b"secretless 2" in everything
    assert TOKEN.encode() not in everything
    assert USER.encode() not in everything


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("created_at", "'yesterday'"),
        ("created_at", "X'00'"),
        ("next_at", "'soon'"),
        ("attempts", "'many'"),
        ("message", "'not json'"),
        ("message", "'[1, 2]'"),
        ("notifier", "X'6869'"),
        ("validate_devices", "7"),
    ],
)
def test_an_unreadable_row_is_set_aside_and_the_rows_behind_it_are_delivered(
    outbox: Outbox, fake_pushover: FakePushover, db_path: str, clock: Clock, caplog: pytest.LogCaptureFixture,
    column: str, value: str,
) -> None:  # fmt: skip
    outbox.put("notify", Message("before"))
    bad = outbox.put("notify", Message("broken"))
    outbox.put("notify", Message("behind"))
    with sqlite3.connect(db_path) as other:
        other.execute(f"UPDATE pending SET {column} = {value} WHERE id = ?", (bad,))  # noqa: S608 -- test data
    other.close()
    assert outbox.depth() == 3
    assert outbox.next_due() == T0 + const.MIN_RETRY_INTERVAL_S  # the bad row does not hide the good ones
    clock.now += 5
    assert outbox.run_once() == 2
    assert sorted(form["message"] for form in messages(fake_pushover)) == ["before", "behind"]
    assert (outbox.depth(), outbox.set_aside_count()) == (0, 1)
    [error] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert bad in error and "set aside" in error and column in error
    clock.now += 3600  # set aside means never retried, and never dropped as too old
    assert outbox.run_once() == 0
    assert len(messages(fake_pushover)) == 2
    with sqlite3.connect(db_path) as other:
        [(kept_id, reason)] = other.execute("SELECT id, reason FROM set_aside").fetchall()
    other.close()
    assert kept_id == bad and column in reason


def test_the_worker_gets_past_an_unreadable_row(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, db_path: str
) -> None:
    outbox = make_outbox(clock=time.time, min_interval_s=0.05, max_interval_s=0.2)
    bad = outbox.put("notify", Message("broken"))
    with sqlite3.connect(db_path) as other:
        other.execute("UPDATE pending SET created_at = 'not a number', next_at = 'never' WHERE id = ?", (bad,))
    other.close()
    outbox.put("notify", Message("behind"))
    outbox.start()
    deadline = time.monotonic() + 10
    while outbox.depth() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [form["message"] for form in messages(fake_pushover)] == ["behind"]
    assert (outbox.depth(), outbox.set_aside_count()) == (0, 1)
    assert outbox.oldest_age_s() is None


# -- durability and concurrency ------------------------------------------------


def test_items_survive_close_and_reopen(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    first = make_outbox()
    ids = {first.put("notify", Message(f"m{i}")) for i in range(3)}
    first.close()
    again = make_outbox()
    assert {item.id for item in again.pending()} == ids
    clock.now += 5
    assert again.run_once() == 3
    assert sorted(f["message"] for f in messages(fake_pushover)) == ["m0", "m1", "m2"]


def test_the_file_is_in_wal_mode_with_full_sync(outbox: Outbox, db_path: str) -> None:
    outbox.put("notify", Message("hi"))
    with sqlite3.connect(db_path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()


def test_many_threads_put_at_once(outbox: Outbox, fake_pushover: FakePushover, clock: Clock) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(20):
            item = outbox.put("notify", Message(f"t{n}-{i}"))
            with lock:
                ids.append(item)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    clock.now += 5
    delivered = outbox.run_once()  # while the puts go on
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 160
    clock.now += 5
    delivered += outbox.run_once()
    assert delivered == 160
    assert len(messages(fake_pushover)) == 160
    assert outbox.depth() == 0


def test_two_outboxes_on_one_file_send_each_item_once(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover, clock: Clock
) -> None:
    one, two = make_outbox(), make_outbox()
    for i in range(5):
        one.put("notify", Message(f"m{i}"))
    clock.now += 5
    assert one.run_once() + two.run_once() == 5
    assert len(messages(fake_pushover)) == 5


# -- the file cannot be used ---------------------------------------------------


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unwritable_file_makes_put_raise(
    where: str, make_outbox: Callable[..., Outbox], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if where == "proc":
        path = "/proc/outbox.sqlite3"  # root cannot create files here either
    else:
        (tmp_path / "a-file").write_text("not a directory")
        path = str(tmp_path / "a-file" / "outbox.sqlite3")
    outbox = make_outbox(path=path)  # logs, does not raise: the service can still send directly
    assert "cannot open the outbox" in caplog.text
    with pytest.raises(OutboxError, match="cannot open the outbox"):
        outbox.put("notify", Message("hi"))
    with pytest.raises(OutboxError):
        outbox.depth()


def test_a_locked_file_makes_put_raise_after_the_busy_timeout(outbox: Outbox, db_path: str) -> None:
    outbox.put("notify", Message("before"))
    locker = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(OutboxError, match="locked"):
            outbox.put("notify", Message("while locked"))
        # A lock let go while put waits does not fail it: put waits for the file rather than give up at once.
        unlock = threading.Timer(BUSY_TIMEOUT_S / 4, locker.execute, ("ROLLBACK",))
        unlock.start()
        outbox.put("notify", Message("while being unlocked"))
        unlock.join()
    finally:
        locker.close()
    outbox.put("notify", Message("after"))
    assert [item.message.message for item in outbox.pending()] == ["before", "while being unlocked", "after"]


def test_a_closed_outbox_refuses_put(outbox: Outbox) -> None:
    outbox.close()
    outbox.close()  # twice is fine
    with pytest.raises(OutboxError, match="closed"):
        outbox.put("notify", Message("hi"))


@pytest.mark.parametrize(
    "options",
    [{"min_interval_s": 0}, {"min_interval_s": 10, "max_interval_s": 5}, {"max_age_s": 0}],
)
def test_nonsense_intervals_are_refused(options: dict[str, float], client: PushoverClient, db_path: str) -> None:
    with pytest.raises(ValueError):
        Outbox(db_path, client, default_credentials, **options)


# -- the worker thread ---------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_the_worker_retries_until_pushover_answers(
    make_outbox: Callable[..., Outbox], fake_pushover: FakePushover
) -> None:
    outbox = make_outbox(clock=time.time, min_interval_s=0.05, max_interval_s=0.2)
    fake_pushover.enqueue(status=503, times=3)
    outbox.put("notify", Message("eventually"))
    outbox.start()
    wait_for(lambda: outbox.depth() == 0)
    outbox.stop()
    assert [f["message"] for f in messages(fake_pushover)] == ["eventually"] * 4


def test_put_wakes_a_sleeping_worker(make_outbox: Callable[..., Outbox], fake_pushover: FakePushover) -> None:
    # Nothing is pending, so the worker sleeps up to max_interval_s (300 s) unless put() wakes it.
    outbox = make_outbox(clock=time.time, min_interval_s=0.05)
    outbox.start()
    time.sleep(0.1)
    outbox.put("notify", Message("wake up"))
    wait_for(lambda: outbox.depth() == 0, timeout=3.0)
    outbox.stop()
    assert len(messages(fake_pushover)) == 1


def test_stop_joins_the_worker(outbox: Outbox) -> None:
    outbox.start()
    outbox.start()  # a second start does not start a second thread
    assert [t.name for t in threading.enumerate()].count("outbox") == 1
    outbox.stop()  # wakes the worker from its sleep (up to max_interval_s) and joins it
    assert "outbox" not in [t.name for t in threading.enumerate()]


def test_a_worker_on_a_broken_file_logs_backs_off_and_stops(
    make_outbox: Callable[..., Outbox], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    outbox = make_outbox(path=str(tmp_path / "a-file" / "x.sqlite3"), clock=time.time, min_interval_s=0.05)
    caplog.clear()
    outbox.start()
    time.sleep(0.5)  # backing off 0.05, 0.1, 0.2, 0.4 s: a handful of tries, not hundreds
    outbox.stop()
    tries = [r for r in caplog.records if r.getMessage().startswith("outbox worker:")]
    assert 2 <= len(tries) <= 6
    assert "outbox" not in [t.name for t in threading.enumerate()]
