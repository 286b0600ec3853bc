"""The receipt book over a real SQLite store, Pushover at the fake server; the callback form; the sentences."""

from __future__ import annotations

import datetime as dt

import pytest

from skill.config import Credentials
from skill.errors import ConfigError, InvalidRequestError
from skill.pushover import Message, PushoverClient
from skill.receipts import AlertState, ReceiptBook, parse_callback
from skill.receipts.book import POLL_CACHE_S, POLL_READ_TIMEOUT_S
from skill.receipts.callback import callback_url, masked, secret_matches
from skill.receipts.model import Receipt
from skill.receipts.speech import load_zone, spoken_duration, spoken_time, status_context, status_sentence
from skill.receipts.sqlite import SqliteReceiptStore
from tests.fake_pushover import TOKEN, USER

UTC = dt.UTC
#: 10:42:00 UTC on a Tuesday.
T0 = dt.datetime(2026, 12, 1, 10, 42, tzinfo=UTC).timestamp()
ALERT = Message("Help!", priority=2, retry=30, expire=300, devices=("pixel3",), tags="alexa-emergencyintent")


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    kept = SqliteReceiptStore(str(tmp_path / "outbox.sqlite3"))
    yield kept
    kept.close()


@pytest.fixture
def client(fake_pushover):
    with PushoverClient(fake_pushover.url, connect_timeout_s=1, read_timeout_s=2) as made:
        yield made


def send(client: PushoverClient, message: Message = ALERT) -> str:
    result = client.send(message, Credentials(TOKEN, USER))
    assert result.receipt
    return result.receipt


def test_only_emergency_alerts_get_the_callback_url(store):
    book = ReceiptBook(store, callback_url="https://skill.example/pushover/callback/s3cret")
    assert book.prepare(ALERT).callback == "https://skill.example/pushover/callback/s3cret"
    assert book.prepare(Message("hi", priority=1)).callback is None
    own = Message("Help!", priority=2, retry=30, expire=60, callback="https://mine.example/")
    assert book.prepare(own).callback == "https://mine.example/"  # the map's own callback wins
    assert ReceiptBook(store).prepare(ALERT).callback is None


def test_a_recorded_alert_is_open_until_its_expiry(store):
    clock = Clock()
    book = ReceiptBook(store, clock=clock)
    book.record("EmergencyIntent", "notify", ALERT, "r1")
    (kept,) = book.open_alerts()
    assert (kept.receipt, kept.tags, kept.devices, kept.retry, kept.expires_at) == (
        "r1",
        ("alexa-emergencyintent",),
        ("pixel3",),
        30,
        T0 + 300,
    )
    clock.now = T0 + 300
    assert book.open_alerts() == []
    assert book.latest("EmergencyIntent").state(clock.now) == AlertState.EXPIRED
    assert book.latest("OtherIntent") is None


def test_a_broken_store_never_stops_the_alert(tmp_path, caplog):
    book = ReceiptBook(SqliteReceiptStore(str(tmp_path / "no-dir" / "x.sqlite3")))
    book.record("EmergencyIntent", "notify", ALERT, "r1")  # logged, not raised
    assert "its receipt r1 was not kept" in caplog.text
    assert book.cancel_tagged("alexa-emergencyintent") == 0


def test_cancel_marks_the_open_alerts_with_the_tag(store):
    clock = Clock()
    book = ReceiptBook(store, clock=clock)
    book.record("EmergencyIntent", "notify", ALERT, "r1")
    book.record("FireIntent", "notify", Message("Fire", priority=2, retry=30, expire=300, tags="fire"), "r2")
    clock.now += 60
    assert book.cancel_tagged("alexa-emergencyintent") == 1
    assert book.cancel_tagged("alexa-emergencyintent") == 0
    assert [r.receipt for r in book.open_alerts()] == ["r2"]
    assert book.latest("EmergencyIntent").cancelled_at == T0 + 60


def test_a_callback_acknowledgement_is_recorded_once_with_the_persons_name(store):
    names = {USER: "Paulus"}
    book = ReceiptBook(store, name_for_user_key=names.get)
    book.record("EmergencyIntent", "notify", ALERT, "r1")
    form = [("receipt", "r1"), ("acknowledged", "1"), ("acknowledged_at", str(int(T0) + 120)),
            ("acknowledged_by", USER), ("acknowledged_by_device", "pixel3")]  # fmt: skip
    ack = parse_callback(form)
    assert USER not in repr(ack)
    assert book.acknowledge(ack) is True
    assert book.acknowledge(ack) is False  # Pushover may call twice
    assert book.acknowledge(parse_callback([*form[1:], ("receipt", "unknown")])) is None
    kept = store.get("r1")
    assert (kept.acknowledged_by, kept.acknowledged_device, kept.acknowledged_at) == ("Paulus", "pixel3", T0 + 120)


def test_without_callbacks_the_book_polls_pushover_and_caches_the_answer(store, client, fake_pushover):
    clock = Clock()
    book = ReceiptBook(store, client=client, credentials_for=lambda name: Credentials(TOKEN, USER), clock=clock)
    receipt = send(client)
    book.record("EmergencyIntent", "notify", ALERT, receipt)
    assert book.latest("EmergencyIntent").state(clock.now) == AlertState.OPEN
    assert len(fake_pushover.requests_to("receipt")) == 1
    fake_pushover.acknowledge(receipt, device="iphone", at=int(T0) + 90)
    assert book.latest("EmergencyIntent").state(clock.now) == AlertState.OPEN  # cached
    assert len(fake_pushover.requests_to("receipt")) == 1
    clock.now += POLL_CACHE_S
    latest = book.latest("EmergencyIntent")
    assert (latest.state(clock.now), latest.acknowledged_device, latest.acknowledged_by) == (
        AlertState.ACKNOWLEDGED,
        "iphone",
        None,  # no people: the device name stands in
    )
    clock.now += POLL_CACHE_S
    book.latest("EmergencyIntent")
    assert len(fake_pushover.requests_to("receipt")) == 2  # a final answer is never asked again


def test_polling_learns_an_expiry_and_survives_a_pushover_outage(store, client, fake_pushover):
    clock = Clock()
    book = ReceiptBook(store, client=client, credentials_for=lambda name: Credentials(TOKEN, USER), clock=clock)
    receipt = send(client)
    book.record("EmergencyIntent", "notify", ALERT, receipt)
    fake_pushover.down()
    assert book.latest("EmergencyIntent").state(clock.now) == AlertState.OPEN  # logged, not raised
    fake_pushover.up()
    fake_pushover.expire(receipt)
    clock.now += POLL_CACHE_S
    latest = book.latest("EmergencyIntent")
    assert latest.expired and latest.state(clock.now) == AlertState.EXPIRED


def test_with_callbacks_the_book_never_polls(store, client, fake_pushover):
    book = ReceiptBook(store, client=client, credentials_for=lambda n: Credentials(TOKEN, USER),
                       callback_url="https://x.example/pushover/callback/abc")  # fmt: skip
    book.record("EmergencyIntent", "notify", ALERT, send(client))
    book.latest("EmergencyIntent")
    assert fake_pushover.requests_to("receipt") == []


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ([("receipt", "r1"), ("acknowledged", "1")], "missing"),
        ([("receipt", "r1"), ("acknowledged", "1"), ("acknowledged_at", "1"), ("token", "x")], "unexpected"),
        ([("receipt", "r1"), ("receipt", "r2"), ("acknowledged", "1"), ("acknowledged_at", "1")], "twice"),
        ([("receipt", "r1;drop"), ("acknowledged", "1"), ("acknowledged_at", "1")], "format"),
        ([("receipt", "r" * 65), ("acknowledged", "1"), ("acknowledged_at", "1")], "format"),
        ([("receipt", "r1"), ("acknowledged", "yes"), ("acknowledged_at", "1")], "format"),
        ([("receipt", "r1"), ("acknowledged", "1"), ("acknowledged_at", "1" * 13)], "format"),
        (
            [("receipt", "r1"), ("acknowledged", "1"), ("acknowledged_at", "1"), ("acknowledged_by_device", "a b")],
            "format",
        ),
    ],
)
def test_the_callback_accepts_only_pushovers_fields_and_sizes(form, reason):
    with pytest.raises(InvalidRequestError, match=reason):
        parse_callback(form)


def test_an_unacknowledged_callback_records_nothing():
    assert parse_callback([("receipt", "r1"), ("acknowledged", "0"), ("acknowledged_at", "0")]) is None


def test_the_callback_url_and_its_secret():
    assert callback_url("https://skill.example/", "abc") == "https://skill.example/pushover/callback/abc"
    assert secret_matches("abc", "abc") and not secret_matches("abd", "abc") and not secret_matches("", "abc")
    assert masked("0123456789abcdef") == "0123…"


def test_times_and_durations_as_people_say_them():
    zone = load_zone("UTC")
    assert spoken_time(T0, "en-GB", zone) == "10:42"
    assert spoken_time(T0 + 4 * 3600, "en-US", zone) == "2:42 PM"
    assert spoken_time(T0, "de-DE", zone) == "10:42 Uhr"
    assert spoken_time(T0, "de-DE", load_zone("Europe/Berlin")) == "11:42 Uhr"
    assert [spoken_duration(s, "en-US") for s in (1, 40, 60, 130, 7200)] == [
        "one second",
        "40 seconds",
        "one minute",
        "2 minutes",
        "2 hours",
    ]
    assert spoken_duration(120, "de-DE") == "2 Minuten"
    with pytest.raises(ConfigError, match="TIMEZONE"):
        load_zone("Mars/Olympus")


def test_the_status_sentences():
    zone = load_zone("UTC")
    open_alert = Receipt("r1", "EmergencyIntent", (), "notify", (), T0, 30, 300)

    def say(r: Receipt | None, now: float = T0 + 10, locale: str = "en-GB") -> str:
        return status_sentence(r, now, locale, zone)

    assert say(None) == "There's no recent alert."
    assert say(open_alert) == (
        "Nobody has acknowledged the alert from 10:42 yet; Pushover repeats it every 30 seconds until 10:47."
    )
    assert say(open_alert, T0 + 300) == "The alert from 10:42 expired without an acknowledgement."
    assert say(open_alert.replace(cancelled_at=T0 + 180)) == "You cancelled the alert at 10:45."
    acked = open_alert.replace(acknowledged_at=T0 + 120, acknowledged_by="Paulus", acknowledged_device="pixel")
    assert say(acked) == "Paulus acknowledged your alert from 10:42 on pixel, 2 minutes after it was sent."
    assert say(acked.replace(acknowledged_by=None)) == (
        "Your alert from 10:42 was acknowledged on pixel, 2 minutes after it was sent."
    )
    assert say(acked, locale="de-DE") == (
        "Paulus hat deinen Alarm von 10:42 Uhr auf pixel bestätigt, 2 Minuten nach dem Senden."
    )
    context = status_context(acked, T0 + 500, "en-GB", zone)
    assert context | {"state": "acknowledged"} == {
        "alert": True, "state": "acknowledged", "acknowledged": True, "acknowledged_by": "Paulus",
        "acknowledged_device": "pixel", "acknowledged_at": "10:44", "sent_at": "10:42", "expires_at": "10:47",
        "expired": False, "cancelled": False, "cancelled_at": "", "retry": 30,
    }  # fmt: skip
    assert status_context(None, T0, "en-GB", zone)["alert"] is False


def test_a_slow_pushover_costs_the_poll_not_the_answer(store, fake_pushover, caplog):
    with PushoverClient(fake_pushover.url, connect_timeout_s=1, read_timeout_s=4) as slow_client:
        book = ReceiptBook(store, client=slow_client, credentials_for=lambda name: Credentials(TOKEN, USER))
        receipt = send(slow_client)
        book.record("EmergencyIntent", "notify", ALERT, receipt)
        fake_pushover.enqueue(endpoint="receipt", delay=POLL_READ_TIMEOUT_S + 1)
        assert book.latest("EmergencyIntent").state(book.clock()) == AlertState.OPEN
    assert "cannot ask Pushover about receipt" in caplog.text
    assert "within the read timeout" in caplog.text
