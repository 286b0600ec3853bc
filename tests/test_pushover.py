"""PushoverClient against the fake Pushover server (tests/fake_pushover.py); requests is never patched."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from skill import const
from skill.attachments import Attachment
from skill.config import Credentials
from skill.errors import (
    PermanentError,
    PushoverConnectionError,
    PushoverError,
    PushoverTimeoutError,
    QuotaExceededError,
    TransientError,
    UnknownDeviceError,
)
from skill.pushover import Message, PushoverClient, Quota
from tests.fake_pushover import DEVICES, GROUP, TOKEN, USER, FakePushover, closed_port

CREDS = Credentials(TOKEN, USER)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Not a real image, but bytes that a careless multipart encoder or parser would mangle.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--boundary\r\n\x00"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(fake_pushover: FakePushover, clock: FakeClock) -> Iterator[PushoverClient]:
    with PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=2.0, clock=clock) as client:
        yield client


# -- the message on the wire ---------------------------------------------------


def test_to_form_leaves_out_unset_fields() -> None:
    assert Message("hi").to_form() == {"message": "hi"}
    assert Message("hi", title="", devices=(), html=False).to_form() == {"message": "hi"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"title": "Where is Paulus"}, {"title": "Where is Paulus"}),
        ({"devices": ("pixel3",)}, {"device": "pixel3"}),
        ({"devices": ("pixel3", "pixel4a")}, {"device": "pixel3,pixel4a"}),
        ({"sound": "siren"}, {"sound": "siren"}),
        ({"url": "https://example.org/map?q=1&z=2"}, {"url": "https://example.org/map?q=1&z=2"}),
        ({"url": "https://example.org", "url_title": "Map"}, {"url_title": "Map"}),
        ({"priority": 0}, {"priority": "0"}),
        ({"priority": -2}, {"priority": "-2"}),
        ({"priority": 1}, {"priority": "1"}),
        ({"priority": 2, "retry": 30, "expire": 10800}, {"priority": "2", "retry": "30", "expire": "10800"}),
        ({"ttl": 3600}, {"ttl": "3600"}),
        ({"timestamp": 1700000000}, {"timestamp": "1700000000"}),
        ({"html": True}, {"html": "1"}),
        ({"monospace": True}, {"monospace": "1"}),
        (
            {"priority": 2, "retry": 60, "expire": 600, "callback": "https://example.org/ack"},
            {"callback": "https://example.org/ack"},
        ),
        ({"tags": "door,alarm"}, {"tags": "door,alarm"}),
    ],
)
def test_each_parameter_arrives(
    client: PushoverClient, fake_pushover: FakePushover, fields: dict[str, Any], expected: dict[str, str]
) -> None:
    client.send(Message("Paulus is at home", **fields), CREDS)
    received = fake_pushover.last
    assert received.method == "POST"
    assert received.path == "/1/messages.json"
    assert received.header("Content-Type") == "application/x-www-form-urlencoded"
    assert received.form["token"] == TOKEN
    assert received.form["user"] == USER
    assert received.form["message"] == "Paulus is at home"
    assert {k: received.form.get(k) for k in expected} == expected
    assert received.files == {}


def test_unset_parameters_are_not_sent(client: PushoverClient, fake_pushover: FakePushover) -> None:
    client.send(Message("hello"), CREDS)
    assert set(fake_pushover.last.form) == {"token", "user", "message"}


def test_every_parameter_at_once(client: PushoverClient, fake_pushover: FakePushover) -> None:
    message = Message(
        "Ünïcode & <b>html</b>\nsecond line",
        title="Title",
        devices=("pixel3", "pixel4a"),
        sound="siren",
        url="https://example.org",
        url_title="Example",
        priority=2,
        retry=30,
        expire=600,
        ttl=60,
        timestamp=1700000000,
        html=True,
        callback="https://example.org/cb",
        tags="t1",
    )
    client.send(message, CREDS)
    assert fake_pushover.last.form == {**message.to_form(), "token": TOKEN, "user": USER}


def test_attachment_goes_as_a_multipart_part(client: PushoverClient, fake_pushover: FakePushover) -> None:
    attachment = Attachment("doorbell.png", "image/png", PNG)
    result = client.send(Message("Someone at the door", title="Door", attachment=attachment), CREDS)
    received = fake_pushover.last
    assert (received.header("Content-Type") or "").startswith("multipart/form-data; boundary=")
    assert received.files == {"attachment": ("doorbell.png", "image/png", PNG)}
    assert received.form == {"message": "Someone at the door", "title": "Door", "token": TOKEN, "user": USER}
    assert result.request_id is not None


# -- answers -----------------------------------------------------------------------


def test_success_returns_request_id_and_quota(client: PushoverClient) -> None:
    result = client.send(Message("hi"), CREDS)
    assert result.request_id is not None and UUID_RE.match(result.request_id)
    assert result.receipt is None
    assert result.quota is not None
    assert (result.quota.limit, result.quota.remaining) == (10_000, 9_999)
    assert client.quota == result.quota


def test_emergency_priority_returns_a_receipt(client: PushoverClient, fake_pushover: FakePushover) -> None:
    result = client.send(Message("fire", priority=2, retry=30, expire=300), CREDS)
    assert result.receipt is not None and const.KEY_RE.match(result.receipt)
    assert result.receipt in fake_pushover.receipts


@pytest.mark.parametrize("fields", [{"retry": 30}, {"expire": 300}, {}])
def test_emergency_priority_needs_retry_and_expire(
    client: PushoverClient, fake_pushover: FakePushover, fields: dict[str, Any]
) -> None:
    with pytest.raises(PermanentError, match="retry and expire") as info:
        client.send(Message("fire", priority=2, **fields), CREDS)
    assert info.value.status is None
    assert fake_pushover.requests == []


def test_400_is_permanent_with_errors_and_request_id(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(
        status=400, json={"status": 0, "errors": ["message is too long", "title is invalid"], "request": "req-42"}
    )
    with pytest.raises(PermanentError) as info:
        client.send(Message("hi"), CREDS)
    error = info.value
    assert type(error) is PermanentError
    assert (error.status, error.errors, error.request_id) == (
        400,
        ["message is too long", "title is invalid"],
        "req-42",
    )
    assert not error.retryable
    assert "message is too long" in str(error) and "req-42" in str(error)
    assert len(fake_pushover.requests) == 1


def test_scripted_400_errors_array(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=400, errors=["device name is not valid for user"])
    with pytest.raises(PermanentError) as info:
        client.send(Message("hi"), CREDS)
    assert info.value.errors == ["device name is not valid for user"]
    assert info.value.request_id is not None
    assert len(fake_pushover.requests) == 1


def test_unknown_user_key_is_refused(client: PushoverClient, fake_pushover: FakePushover) -> None:
    with pytest.raises(PermanentError) as info:
        client.send(Message("hi"), Credentials(TOKEN, "u" * 30))
    assert info.value.errors == ["user identifier is not a valid user, group, or subscribed user key"]
    assert len(fake_pushover.requests) == 1


def test_200_with_status_0_is_permanent(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=200, json={"status": 0, "errors": ["odd"], "request": "r1"})
    with pytest.raises(PermanentError) as info:
        client.send(Message("hi"), CREDS)
    assert (info.value.errors, info.value.request_id) == (["odd"], "r1")


def test_429_is_quota_exceeded_and_records_the_quota(client: PushoverClient, fake_pushover: FakePushover) -> None:
    headers = {"X-Limit-App-Limit": "10000", "X-Limit-App-Remaining": "0", "X-Limit-App-Reset": "1893456000"}
    fake_pushover.enqueue(status=429, headers=headers)
    with pytest.raises(QuotaExceededError) as info:
        client.send(Message("hi"), CREDS)
    assert isinstance(info.value, PermanentError) and not info.value.retryable
    assert info.value.status == 429
    assert client.quota == Quota(limit=10000, remaining=0, reset=1893456000)
    assert len(fake_pushover.requests) == 1


def test_500_is_transient_and_not_retried(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=500)
    with pytest.raises(TransientError) as info:
        client.send(Message("hi"), CREDS)
    assert type(info.value) is TransientError
    assert info.value.status == 500 and info.value.retryable
    assert not info.value.maybe_delivered
    assert len(fake_pushover.requests) == 1


def test_html_502_is_transient(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=502, body=b"<html>bad gateway</html>", content_type="text/html")
    with pytest.raises(TransientError) as info:
        client.send(Message("hi"), CREDS)
    assert info.value.status == 502
    assert info.value.errors == []
    assert len(fake_pushover.requests) == 1


def test_non_json_200_is_transient_and_maybe_delivered(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=200, body=b"<html>captive portal</html>", content_type="text/html")
    with pytest.raises(TransientError) as info:
        client.send(Message("hi"), CREDS)
    assert info.value.maybe_delivered
    assert len(fake_pushover.requests) == 1


def test_redirect_is_not_followed(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=301, body=b"", headers={"Location": "https://elsewhere.invalid/1/messages.json"})
    with pytest.raises(PermanentError, match="PUSHOVER_API_URL"):
        client.send(Message("hi"), CREDS)
    assert len(fake_pushover.requests) == 1


def test_read_timeout_maybe_delivered_not_retried(fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(delay=1.0)
    with PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=0.3) as client:
        with pytest.raises(PushoverTimeoutError) as info:
            client.send(Message("slow"), CREDS)
        assert info.value.maybe_delivered and info.value.retryable
        assert len(fake_pushover.requests) == 1
        assert client.send(Message("next"), CREDS).request_id  # the client is still usable


def test_closed_port_is_a_connection_error_retried_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="skill.pushover")
    with (
        PushoverClient(closed_port(), connect_timeout_s=1.0, read_timeout_s=1.0) as client,
        pytest.raises(PushoverConnectionError) as info,
    ):
        client.send(Message("hi"), CREDS)
    assert not info.value.maybe_delivered and info.value.retryable
    assert info.value.status is None
    assert [r.message for r in caplog.records if "retrying once" in r.message] == [
        "Pushover messages.json: the connection to Pushover was refused for the message; retrying once"
    ]


def test_dropped_connection_is_not_retried_for_a_message(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(close=True)
    with pytest.raises(TransientError) as info:
        client.send(Message("hi"), CREDS)
    assert info.value.maybe_delivered
    assert len(fake_pushover.requests) == 1


def test_dropped_connection_is_retried_once_for_validate(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(close=True, endpoint="validate")
    assert client.validate(CREDS) == list(DEVICES)
    assert len(fake_pushover.requests_to("validate")) == 2


def test_dropped_twice_gives_up_after_one_retry(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(close=True, times=3)
    with pytest.raises(TransientError):
        client.sounds(TOKEN)
    assert len(fake_pushover.requests) == 2
    assert fake_pushover.pending_replies == 1


def test_invalid_api_url_is_permanent() -> None:
    with PushoverClient("api.pushover.net/1") as client, pytest.raises(PermanentError, match="PUSHOVER_API_URL"):
        client.send(Message("hi"), CREDS)


# -- the connection ------------------------------------------------------------------


def test_100_sends_use_one_connection(client: PushoverClient, fake_pushover: FakePushover) -> None:
    for i in range(100):
        client.send(Message(f"message {i}"), CREDS)
    assert len(fake_pushover.requests_to("messages")) == 100
    assert fake_pushover.connections == 1


def test_a_given_session_is_used_and_left_open(fake_pushover: FakePushover) -> None:
    with requests.Session() as session:
        for _ in range(2):
            with PushoverClient(fake_pushover.url, session=session) as client:
                client.send(Message("hi"), CREDS)
        assert fake_pushover.connections == 1


def test_fake_down_and_up(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.down()
    with pytest.raises(TransientError) as info:
        client.send(Message("hi"), CREDS)
    assert info.value.status == 503
    fake_pushover.down(close=True)
    with pytest.raises(TransientError):
        client.send(Message("hi"), CREDS)
    fake_pushover.up()
    assert client.send(Message("hi"), CREDS).request_id


# -- quota ---------------------------------------------------------------------------


def test_quota_warning_under_ten_percent(
    client: PushoverClient, fake_pushover: FakePushover, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="skill.pushover")
    fake_pushover.limit, fake_pushover.remaining = 100, 11

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "skill.pushover"]

    client.send(Message("hi"), CREDS)  # 10 left: exactly 10 %, no warning yet
    assert client.quota is not None and client.quota.remaining == 10
    assert warnings() == []
    client.send(Message("hi"), CREDS)  # 9 left
    assert warnings() == ["Pushover quota is low: 9 of 100 messages left this month"]


def test_quota_recorded_from_an_error_reply(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.enqueue(status=400, errors=["bad"], headers={"X-Limit-App-Remaining": "123"})
    with pytest.raises(PermanentError):
        client.send(Message("hi"), CREDS)
    assert client.quota is not None and client.quota.remaining == 123


def test_quota_is_none_before_any_message(client: PushoverClient) -> None:
    client.validate(CREDS)
    assert client.quota is None


# -- devices ---------------------------------------------------------------------------


def test_validate_returns_the_devices(client: PushoverClient, fake_pushover: FakePushover) -> None:
    assert client.validate(CREDS) == ["pixel3", "pixel4a", "iphone"]
    assert client.validate(CREDS, device="pixel3") == ["pixel3", "pixel4a", "iphone"]
    assert fake_pushover.last.form == {"token": TOKEN, "user": USER, "device": "pixel3"}


def test_validate_a_group_key_returns_no_devices(client: PushoverClient) -> None:
    assert client.validate(Credentials(TOKEN, GROUP)) == []


@pytest.mark.parametrize(
    ("creds", "device", "error"),
    [
        (Credentials(TOKEN, "u" * 30), None, "user identifier is not a valid user, group, or subscribed user key"),
        (Credentials("a" * 30, USER), None, "application token is invalid"),
        (CREDS, "toaster", "device name is not valid for user"),
    ],
)
def test_validate_refusals(client: PushoverClient, creds: Credentials, device: str | None, error: str) -> None:
    with pytest.raises(PermanentError) as info:
        client.validate(creds, device)
    assert info.value.errors == [error]
    assert info.value.status == 400


def test_devices_are_cached_for_the_ttl(client: PushoverClient, fake_pushover: FakePushover, clock: FakeClock) -> None:
    assert client.devices(CREDS) == list(DEVICES)
    clock.now += const.DEVICE_CACHE_TTL_S - 1
    assert client.devices(CREDS) == list(DEVICES)
    assert len(fake_pushover.requests_to("validate")) == 1
    clock.now += 2
    client.devices(CREDS)
    assert len(fake_pushover.requests_to("validate")) == 2


def test_devices_are_cached_per_credentials(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.users["u2" + "x" * 28] = ["laptop"]
    assert client.devices(CREDS) == list(DEVICES)
    assert client.devices(Credentials(TOKEN, "u2" + "x" * 28)) == ["laptop"]
    assert len(fake_pushover.requests_to("validate")) == 2


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["pixel3"], ("pixel3",)),
        (["pixel 3"], ("pixel3",)),
        (["PIXEL3"], ("pixel3",)),
        (["Pixel-4a"], ("pixel4a",)),
        (["pixel_4 A"], ("pixel4a",)),
        ([" iPhone "], ("iphone",)),
        (["pixel3", "PIXEL 3", "iphone"], ("pixel3", "iphone")),
        (["", "  "], ()),
        ([], ()),
    ],
)
def test_resolve_devices_forgives_case_and_separators(
    client: PushoverClient, names: list[str], expected: tuple[str, ...]
) -> None:
    assert client.resolve_devices(CREDS, names) == expected


def test_resolve_devices_prefers_an_exact_name(client: PushoverClient, fake_pushover: FakePushover) -> None:
    fake_pushover.users[USER] = ["pixel-3", "pixel_3"]
    assert client.resolve_devices(CREDS, ["pixel_3"]) == ("pixel_3",)
    assert client.resolve_devices(CREDS, ["Pixel 3"]) == ("pixel-3",)


def test_unknown_device_lists_the_known_ones(client: PushoverClient, fake_pushover: FakePushover) -> None:
    with pytest.raises(UnknownDeviceError) as info:
        client.resolve_devices(CREDS, ["pixel3", "Pixel Three"])
    assert info.value.device == "Pixel Three"
    assert info.value.known == list(DEVICES)
    assert isinstance(info.value, PermanentError)
    # The list was fetched for this very call, so it is not fetched again.
    assert len(fake_pushover.requests_to("validate")) == 1


def test_a_miss_refreshes_the_cache_once(client: PushoverClient, fake_pushover: FakePushover) -> None:
    client.devices(CREDS)
    with pytest.raises(UnknownDeviceError):
        client.resolve_devices(CREDS, ["tablet"])
    assert len(fake_pushover.requests_to("validate")) == 2

    fake_pushover.users[USER].append("tablet")
    assert client.resolve_devices(CREDS, ["Tablet"]) == ("tablet",)
    assert len(fake_pushover.requests_to("validate")) == 3
    assert client.resolve_devices(CREDS, ["tablet", "pixel 3"]) == ("tablet", "pixel3")
    assert len(fake_pushover.requests_to("validate")) == 3


def test_a_group_key_knows_no_devices(client: PushoverClient) -> None:
    with pytest.raises(UnknownDeviceError) as info:
        client.resolve_devices(Credentials(TOKEN, GROUP), ["pixel3"])
    assert info.value.known == []


# -- sounds and receipts -----------------------------------------------------------------


def test_sounds_include_custom_ones(client: PushoverClient, fake_pushover: FakePushover) -> None:
    sounds = client.sounds(TOKEN)
    assert sounds["doorbell"] == "Doorbell (custom)"
    assert sounds["pushover"] == "Pushover (default)"
    received = fake_pushover.last
    assert (received.method, received.path, received.query) == ("GET", "/1/sounds.json", {"token": TOKEN})


def test_sounds_with_a_bad_token(client: PushoverClient) -> None:
    with pytest.raises(PermanentError) as info:
        client.sounds("b" * 30)
    assert info.value.errors == ["application token is invalid"]


def test_cancel_by_tag_returns_the_count(client: PushoverClient, fake_pushover: FakePushover) -> None:
    for tags in ("front door", "front door,alarm", "garage"):
        client.send(Message("ring", priority=2, retry=30, expire=300, tags=tags), CREDS)
    assert client.cancel_by_tag(TOKEN, "front door") == 2
    assert fake_pushover.last.path == "/1/receipts/cancel_by_tag/front%20door.json"
    assert fake_pushover.last.form == {"token": TOKEN}
    assert client.cancel_by_tag(TOKEN, "front door") == 0
    assert client.cancel_by_tag(TOKEN, "garage") == 1


def test_cancel_receipt(client: PushoverClient, fake_pushover: FakePushover) -> None:
    receipt = client.send(Message("fire", priority=2, retry=30, expire=300), CREDS).receipt
    assert receipt is not None
    client.cancel_receipt(TOKEN, receipt)
    assert fake_pushover.last.path == f"/1/receipts/{receipt}/cancel.json"
    assert fake_pushover.receipts[receipt]["canceled"]
    with pytest.raises(PermanentError, match="receipt not found"):
        client.cancel_receipt(TOKEN, "R" * 30)


# -- secrets -----------------------------------------------------------------------------


def _failure_modes(fake: FakePushover, client: PushoverClient, slow: PushoverClient, dead: PushoverClient) -> list:
    """Run every way a call can go, good and bad; the exceptions raised."""
    raised: list[BaseException] = []

    def attempt(call: Callable[..., object], *args: object) -> None:
        try:
            call(*args)
        except (PushoverError, ValueError) as err:
            raised.append(err)

    message = Message("hi", title="t", attachment=Attachment("a.png", "image/png", PNG))
    attempt(client.send, message, CREDS)
    attempt(client.send, Message("fire", priority=2, retry=30, expire=60, tags="x"), CREDS)
    for reply in (
        {"status": 400, "errors": ["bad"]},
        {"status": 429},
        {"status": 500},
        {"status": 502, "body": b"<html>bad gateway</html>", "content_type": "text/html"},
        {"status": 200, "body": b"not json"},
        {"status": 302, "body": b"", "headers": {"Location": f"https://x.invalid/?token={TOKEN}"}},
        {"close": True},
    ):
        fake.enqueue(**reply)
        attempt(client.send, Message("hi"), CREDS)
    fake.enqueue(delay=1.0)
    attempt(slow.send, Message("hi"), CREDS)
    attempt(dead.send, Message("hi"), CREDS)
    attempt(dead.sounds, TOKEN)  # the token is in this URL's query
    attempt(dead.validate, CREDS)
    fake.enqueue(close=True, times=2)
    attempt(client.sounds, TOKEN)
    attempt(client.sounds, TOKEN)
    attempt(client.validate, Credentials(TOKEN, "u" * 30))
    attempt(client.resolve_devices, CREDS, ["nope"])
    attempt(client.cancel_by_tag, TOKEN, "x")
    attempt(client.cancel_receipt, TOKEN, "nope")
    attempt(client.send, Message("fire", priority=2), CREDS)
    return raised


def test_secrets_never_appear_in_logs_reprs_or_errors(
    fake_pushover: FakePushover, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=2.0) as client,
        PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=0.3) as slow,
        PushoverClient(closed_port(), connect_timeout_s=1.0, read_timeout_s=1.0) as dead,
    ):
        raised = _failure_modes(fake_pushover, client, slow, dead)
        texts = [repr(client), repr(slow), repr(dead), repr(client.quota)]

    assert len(raised) >= 15
    assert any("sounds.json" in r.getMessage() for r in caplog.records if r.name.startswith("urllib3"))
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts += [formatter.format(record) for record in caplog.records]
    for err in raised:
        texts += [str(err), repr(err), "".join(traceback.format_exception(err)), repr(getattr(err, "errors", ""))]
    for text in texts:
        assert TOKEN not in text
        assert USER not in text


def test_secrets_in_a_multi_user_key_are_hidden(fake_pushover: FakePushover) -> None:
    other = "uOtherUserKeyP0o9i8u7y6t5r4e3w"
    fake_pushover.users[other] = ["x"]
    fake_pushover.enqueue(status=500, errors=[f"user {other} is unhappy"])
    with PushoverClient(fake_pushover.url) as client, pytest.raises(TransientError) as info:
        client.send(Message("hi"), Credentials(TOKEN, f"{USER},{other}"))
    assert other not in str(info.value) and other not in repr(info.value.errors)


def test_proxy_variables_are_read_once_at_start(fake_pushover: FakePushover, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = closed_port().removesuffix("/1")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("http_proxy", proxy)
    with PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=1.0) as through_proxy:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        with pytest.raises(PushoverConnectionError):
            through_proxy.send(Message("hi"), Credentials(TOKEN, USER))
        with PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=1.0) as direct:
            assert direct.send(Message("hi"), Credentials(TOKEN, USER)).request_id
    assert len(fake_pushover.requests_to("messages")) == 1


def test_the_form_goes_out_as_requests_would_encode_it(fake_pushover: FakePushover) -> None:
    message = Message("Grüße & 1+1=2 % ☃ a=b", title="Küche; ä/ö", url="https://example.com/?a=1&b=2", devices=("p1",))
    with PushoverClient(fake_pushover.url, connect_timeout_s=1.0, read_timeout_s=1.0) as client:
        client.send(message, Credentials(TOKEN, USER))
    (sent,) = fake_pushover.requests_to("messages")
    assert sent.header("Content-Type") == "application/x-www-form-urlencoded"
    assert sent.form == {**message.to_form(), "token": TOKEN, "user": USER}
    expected = requests.Request("POST", fake_pushover.url, data={**message.to_form(), "token": TOKEN, "user": USER})
    assert sent.body == expected.prepare().body.encode()
