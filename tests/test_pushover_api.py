"""Issue 6, end to end: Pushover's API through the whole skill, from a YAML map to what the fake receives.

Every test builds a Service from a map, sends an Alexa envelope through the ASK SDK skill
(tests.helpers.run) and looks at two things only: what arrived at the fake Pushover server
and what the person hears. Camera snapshots come from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import logging
import re
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill import const
from skill.alexa import resolved_slot
from skill.intent_map import IntentMap, load_intent_map, parse_intent_map
from skill.service import Service, Status
from tests.camera import JPEG, drip, image, redirect, stream
from tests.fake_pushover import GROUP, TOKEN, USER, FakePushover
from tests.helpers import make_settings, parse, run, speech
from tests.test_attachments import HTML

REPO = Path(__file__).resolve().parents[1]
FAMILY_TOKEN = "bFamilyAppTokenQ7w3r9t1y5u2i8o"
PARTNER = "uPartnerUserKeyP0o9i8u7y6t5r4e"


@pytest.fixture
def make() -> Iterator[Callable[..., Service]]:
    """Build a Service over a map (YAML text or IntentMap); each is closed after the test."""
    built: list[Service] = []

    def build(text: str | IntentMap, fake: FakePushover, **settings: Any) -> Service:
        imap = text if isinstance(text, IntentMap) else parse(text)
        service = Service(imap, make_settings(fake, **settings))
        built.append(service)
        return service

    yield build
    for service in built:
        service.close()


@pytest.fixture
def example_map() -> IntentMap:
    """The example intents.yaml that `make run` serves."""
    return load_intent_map(REPO / "intents.yaml")


def sent(fake: FakePushover) -> list[dict[str, str]]:
    """The form of every message the fake received."""
    return [r.form for r in fake.requests_to("messages")]


# ---------------------------------------------------------------- 1. devices from speech


def test_an_unknown_device_sends_nothing_and_the_person_hears_the_devices(make, example_map):
    with FakePushover(users={USER: ["pixel", "iphone"]}) as fake:
        service = make(example_map, fake)
        result = run(service, "MessageDeviceIntent", {"Device": "kitchen", "Text": "dinner is ready"})
        assert speech(result) == "I don't know a device called kitchen. Your devices are pixel and iphone."
        assert result.outcomes[0].status == Status.UNKNOWN_DEVICE
        assert sent(fake) == []
        german = run(service, "MessageDeviceIntent", {"Device": "küche", "Text": "essen"}, locale="de-DE")
        assert speech(german) == "Ich kenne kein Gerät namens küche. Deine Geräte sind pixel und iphone."
        assert sent(fake) == []


@pytest.mark.parametrize(
    ("slot", "device"),
    [
        pytest.param(resolved_slot("Device", "pixel three", "pixel3"), "pixel3", id="synonym-resolved-by-alexa"),
        pytest.param(resolved_slot("Device", "i phone", "iphone11pro"), "iphone11pro", id="synonym-i-phone"),
        pytest.param("Pixel 3", "pixel3", id="unresolved-but-forgiving"),
        pytest.param("IPHONE 11 PRO", "iphone11pro", id="case-and-spaces"),
    ],
)
def test_spoken_device_names_reach_the_right_device(make, example_map, slot, device):
    with FakePushover(users={USER: ["pixel", "pixel3", "iphone11pro"]}) as fake:
        result = run(make(example_map, fake), "MessageDeviceIntent", {"Device": slot, "Text": "hello"})
        assert [form["device"] for form in sent(fake)] == [device]
        assert speech(result) == f"Sent to {device}."


def test_a_number_spoken_as_a_word_needs_a_synonym(make, example_map):
    """Forgiving matching drops case, spaces, '-' and '_'; it does not turn "three" into 3."""
    with FakePushover(users={USER: ["pixel3"]}) as fake:
        result = run(make(example_map, fake), "MessageDeviceIntent", {"Device": "pixel three", "Text": "hi"})
        assert speech(result) == "I don't know a device called pixel three. Your devices are pixel3."
        assert sent(fake) == []


def test_the_device_list_is_cached_and_refreshed_on_a_miss(make, fake_pushover):
    service = make('intents: {A: {notify: {message: hi, target: "{{ Device }}"}}}', fake_pushover)
    run(service, "A", {"Device": "pixel3"})
    run(service, "A", {"Device": "iphone"})
    assert len(fake_pushover.requests_to("validate")) == 1
    fake_pushover.users[USER].append("ipad")  # a new phone since the list was fetched
    result = run(service, "A", {"Device": "iPad"})
    assert len(fake_pushover.requests_to("validate")) == 2
    assert [form["device"] for form in sent(fake_pushover)] == ["pixel3", "iphone", "ipad"]
    assert result.outcomes[0].status == Status.SENT


def test_validate_devices_true_checks_a_literal_target(make, fake_pushover):
    text = """
    intents:
      A: {notify: {message: hi, target: [Pixel3, ipod], validate_devices: true}}
      B: {notify: {message: hi, target: Pixel-4a, validate_devices: true}}
    """
    service = make(text, fake_pushover)
    assert speech(run(service, "A")).startswith("I don't know a device called ipod.")
    assert sent(fake_pushover) == []
    run(service, "B")
    assert sent(fake_pushover)[0]["device"] == "pixel4a"


def test_devices_of_every_user_key_of_a_notifier_are_known(make, fake_pushover):
    fake_pushover.users[PARTNER] = ["tablet"]
    text = """
    notifiers:
      family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
    intents:
      A: {notify: {notifier: family, message: hi, target: "{{ Device }}"}}
    """
    fake_pushover.tokens.add(FAMILY_TOKEN)
    service = make(text, fake_pushover, environ={"FAMILY_TOKEN": FAMILY_TOKEN, "FAMILY_USER": f"{USER},{PARTNER}"})
    run(service, "A", {"Device": "Tablet"})
    run(service, "A", {"Device": "pixel 4a"})
    assert [(form["user"], form["device"]) for form in sent(fake_pushover)] == [
        (f"{USER},{PARTNER}", "tablet"),
        (f"{USER},{PARTNER}", "pixel4a"),
    ]
    assert sorted(r.form["user"] for r in fake_pushover.requests_to("validate")) == sorted([USER, PARTNER])
    result = run(service, "A", {"Device": "kitchen"})
    assert speech(result) == (
        "I don't know a device called kitchen. Your devices are pixel3, pixel4a, iphone and tablet."
    )


# ---------------------------------------------------------------- 3. emergency alerts


ALARMS = """
intents:
  AlarmIntent:
    slots: {Room: AMAZON.Room}
    notify:
      message: "Alarm in the {{ Room }}"
      priority: 2
      retry: 60
      expire: 600
      tags: "alarm-{{ Room }},house"
      callback: "https://example.com/ack?room={{ Room }}"
    speech: "Alarm raised. It will repeat every {{ retry }} seconds
      for {{ expire // 60 }} minutes until someone acknowledges it."
  StopAlarmIntent:
    slots: {Room: AMAZON.Room}
    cancel_alerts: {tag: "alarm-{{ Room }}"}
  AllClearIntent:
    cancel_alerts: {tag: house}
"""


def test_emergency_alerts_carry_templated_tags_and_are_canceled_by_tag(make, fake_pushover, caplog):
    service = make(ALARMS, fake_pushover)
    with caplog.at_level(logging.INFO, logger="skill"):
        kitchen = run(service, "AlarmIntent", {"Room": "kitchen"})
    run(service, "AlarmIntent", {"Room": "kitchen"})
    run(service, "AlarmIntent", {"Room": "garage"})
    first = sent(fake_pushover)[0]
    assert {k: first[k] for k in ("priority", "retry", "expire", "tags", "callback")} == {
        "priority": "2",
        "retry": "60",
        "expire": "600",
        "tags": "alarm-kitchen,house",
        "callback": "https://example.com/ack?room=kitchen",
    }
    assert speech(kitchen) == (
        "Alarm raised. It will repeat every 60 seconds for 10 minutes until someone acknowledges it."
    )
    (delivery,) = kitchen.outcomes[0].deliveries
    assert delivery.receipt in fake_pushover.receipts
    assert delivery.as_dict()["receipt"] == delivery.receipt
    assert f"receipt {delivery.receipt}" in caplog.text

    stopped = run(service, "StopAlarmIntent", {"Room": "kitchen"})
    assert fake_pushover.last.path == "/1/receipts/cancel_by_tag/alarm-kitchen.json"
    assert (speech(stopped), stopped.outcomes[0].canceled) == ("I stopped 2 alerts.", 2)
    still_on = [r for r in fake_pushover.receipts.values() if not r["canceled"]]
    assert [sorted(r["tags"]) for r in still_on] == [["alarm-garage", "house"]]
    assert speech(run(service, "AllClearIntent")) == "I stopped one alert."
    assert speech(run(service, "StopAlarmIntent", {"Room": "garage"})) == "There was no alert to stop."


def test_the_example_emergency_intent_confirms_sends_and_cancels(make, fake_pushover, example_map):
    service = make(example_map, fake_pushover)
    asked = run(service, "EmergencyIntent")
    assert speech(asked).endswith("Should I send it?")
    assert sent(fake_pushover) == []
    result = run(service, "EmergencyIntent", confirmation="CONFIRMED")
    assert speech(result) == (
        "Alert sent. It will repeat every 30 seconds for 5 minutes until someone acknowledges it."
    )
    assert sent(fake_pushover)[0]["tags"] == "alexa-emergencyintent"
    assert speech(run(service, "CancelAlertIntent")) == "I stopped one alert."


def test_a_named_notifier_cancels_with_its_own_token(make, fake_pushover):
    fake_pushover.tokens.add(FAMILY_TOKEN)
    text = """
    notifiers:
      family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
    intents:
      Panic: {notify: {notifier: family, message: help, priority: 2, retry: 30, expire: 120}}
      Calm: {cancel_alerts: {intent: Panic, notifier: family}}
    """
    service = make(text, fake_pushover, environ={"FAMILY_TOKEN": FAMILY_TOKEN, "FAMILY_USER": USER})
    run(service, "Panic")
    assert speech(run(service, "Calm")) == "I stopped one alert."
    assert fake_pushover.last.form["token"] == FAMILY_TOKEN


# ---------------------------------------------------------------- 4. camera snapshots


def snapshot_map(url: str, *hosts: str) -> str:
    hosts_yaml = "[" + ", ".join(f'"{h}"' for h in hosts) + "]"
    return f"""
    attachment_hosts: {hosts_yaml}
    intents:
      DoorbellIntent:
        notify:
          message: Someone is at the door
          attachment: "{url}"
        speech: Sent the snapshot.
    """


def refused(result: Any, fake: FakePushover, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    """The notification went without the picture; the person heard why, and the log says why."""
    (request,) = fake.requests_to("messages")
    assert request.files == {}
    assert request.form["message"] == "Someone is at the door"
    assert result.outcomes[0].status == Status.ATTACHMENT_DROPPED
    assert speech(result) == f"Sent the snapshot. I sent it without the picture, because {reason}."
    assert f"intent DoorbellIntent: attachment dropped: {reason}" in caplog.text


def test_a_snapshot_from_an_allowed_host_arrives_as_the_attachment(make, fake_pushover, cameras):
    camera = cameras()
    camera.routes["/snapshot.jpg"] = image(JPEG, "image/jpeg")
    service = make(snapshot_map(camera.url("/snapshot.jpg"), camera.host), fake_pushover)
    result = run(service, "DoorbellIntent")
    (request,) = fake_pushover.requests_to("messages")
    assert request.files["attachment"] == ("snapshot.jpg", "image/jpeg", JPEG)
    assert request.form["message"] == "Someone is at the door"
    assert speech(result) == "Sent the snapshot."
    assert camera.hits == ["/snapshot.jpg"]


def test_a_snapshot_from_another_host_is_not_fetched(make, fake_pushover, cameras, caplog):
    camera, other = cameras(), cameras()
    other.routes["/snapshot.jpg"] = image(JPEG, "image/jpeg")
    service = make(snapshot_map(other.url("/snapshot.jpg"), camera.host), fake_pushover)
    with caplog.at_level(logging.WARNING):
        result = run(service, "DoorbellIntent")
    refused(result, fake_pushover, "the image host is not allowed", caplog)
    assert other.hits == []


def test_a_redirect_to_another_host_is_refused(make, fake_pushover, cameras, caplog):
    camera, other = cameras(), cameras()
    camera.routes["/snapshot.jpg"] = redirect(other.url("/snapshot.jpg"))
    other.routes["/snapshot.jpg"] = image(JPEG, "image/jpeg")
    service = make(snapshot_map(camera.url("/snapshot.jpg"), camera.host), fake_pushover)
    with caplog.at_level(logging.WARNING):
        result = run(service, "DoorbellIntent")
    refused(result, fake_pushover, "the image host is not allowed", caplog)
    assert (camera.hits, other.hits) == (["/snapshot.jpg"], [])


def test_a_non_image_body_is_refused(make, fake_pushover, cameras, caplog):
    camera = cameras()
    camera.routes["/snapshot.jpg"] = image(HTML, "image/jpeg")  # a login page that claims to be a JPEG
    service = make(snapshot_map(camera.url("/snapshot.jpg"), camera.host), fake_pushover)
    with caplog.at_level(logging.WARNING):
        result = run(service, "DoorbellIntent")
    refused(result, fake_pushover, "the link did not return an image", caplog)


@pytest.mark.slow
@pytest.mark.parametrize(("size", "ok"), [(const.MAX_ATTACHMENT_BYTES, True), (const.MAX_ATTACHMENT_BYTES + 1, False)])
def test_the_5_mb_cap_on_a_streamed_snapshot(make, fake_pushover, cameras, caplog, size, ok):
    camera = cameras()
    camera.routes["/snapshot.jpg"] = stream(JPEG, size, chunked=False)  # no Content-Length: only the stream tells
    service = make(snapshot_map(camera.url("/snapshot.jpg"), camera.host), fake_pushover)
    with caplog.at_level(logging.WARNING):
        result = run(service, "DoorbellIntent")
    if ok:
        (request,) = fake_pushover.requests_to("messages")
        filename, content_type, data = request.files["attachment"]
        assert (filename, content_type, len(data)) == ("snapshot.jpg", "image/jpeg", size)
        assert data.startswith(JPEG)
    else:
        refused(result, fake_pushover, "the image is larger than 5 MB", caplog)


@pytest.mark.slow
def test_an_endless_stream_is_cut_off_at_the_cap(make, fake_pushover, cameras, caplog):
    camera = cameras()
    endless = 1024 * 1024 * 1024
    camera.routes["/snapshot.jpg"] = stream(JPEG, endless, chunked=True)
    service = make(snapshot_map(camera.url("/snapshot.jpg"), camera.host), fake_pushover)
    with caplog.at_level(logging.WARNING):
        result = run(service, "DoorbellIntent")
    refused(result, fake_pushover, "the image is larger than 5 MB", caplog)
    assert camera.stream_done.wait(10)
    # The skill hung up: the camera got out the cap plus what socket buffers hold, not the gigabyte.
    assert camera.streamed < const.MAX_ATTACHMENT_BYTES + 16 * 1024 * 1024


@pytest.mark.slow
def test_a_slow_camera_is_refused_within_the_alexa_budget(make, fake_pushover, cameras, caplog):
    camera = cameras()
    camera.routes["/snapshot.jpg"] = drip  # every byte in time, the whole picture not
    service = make(snapshot_map(camera.url("/snapshot.jpg"), camera.host), fake_pushover)
    with caplog.at_level(logging.WARNING):
        result = run(service, "DoorbellIntent")
    # The drip would end with a whole picture after 3.75 s: the loader's 3 s deadline refused it first.
    refused(result, fake_pushover, "the camera did not answer in time", caplog)


# ---------------------------------------------------------------- 5. the rest of the Message API


PARAMS = """
notifiers:
  family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
  team: {token_env: TEAM_TOKEN, user_env: TEAM_USER}
intents:
  MenuIntent:
    notify:
      message: "<b>Dinner</b> is ready"
      html: true
      url: "https://example.com/menu?day={{ Day }}"
      url_title: "Menu for {{ Day }}"
      ttl: 3600
      timestamp: "{{ When or 'now' }}"
      callback: https://example.com/callback
  LogIntent:
    notify:
      notifier: family
      message: "{{ Text }}"
      monospace: true
      timestamp: now
      ttl: "{{ Minutes | int * 60 }}"
  TeamIntent:
    notify: {notifier: team, message: "Stand-up in 5 minutes", priority: 1}
"""


@pytest.fixture
def params_service(make, fake_pushover) -> Service:
    fake_pushover.tokens.add(FAMILY_TOKEN)
    environ = {
        "FAMILY_TOKEN": FAMILY_TOKEN,
        "FAMILY_USER": f"{USER}, {GROUP}",
        "TEAM_TOKEN": TOKEN,
        "TEAM_USER": GROUP,
    }
    return make(PARAMS, fake_pushover, environ=environ)


def test_html_url_url_title_ttl_timestamp_and_callback_arrive(params_service, fake_pushover):
    run(params_service, "MenuIntent", {"Day": "friday", "When": "1700000000"})
    assert sent(fake_pushover)[0] == {
        "token": TOKEN,
        "user": USER,
        "message": "<b>Dinner</b> is ready",
        "html": "1",
        "url": "https://example.com/menu?day=friday",
        "url_title": "Menu for friday",
        "ttl": "3600",
        "timestamp": "1700000000",
        "callback": "https://example.com/callback",
    }


@pytest.mark.parametrize("template", ["MenuIntent", "LogIntent"], ids=["template-says-now", "literal-now"])
def test_timestamp_now_is_the_time_of_the_request(params_service, fake_pushover, template):
    before = int(time.time())
    run(params_service, template, {"Day": "monday", "Text": "x", "Minutes": "1"})
    after = int(time.time())
    assert before <= int(sent(fake_pushover)[0]["timestamp"]) <= after


def test_a_named_notifier_with_several_keys_and_a_group(params_service, fake_pushover):
    run(params_service, "LogIntent", {"Text": "backup done", "Minutes": "90"})
    run(params_service, "TeamIntent")
    log, team = sent(fake_pushover)
    assert (log["token"], log["user"]) == (FAMILY_TOKEN, f"{USER}, {GROUP}")
    assert (log["message"], log["monospace"], log["ttl"]) == ("backup done", "1", "5400")
    assert "html" not in log
    assert (team["token"], team["user"], team["priority"]) == (TOKEN, GROUP, "1")


def test_a_timestamp_that_is_not_a_number_is_heard_and_nothing_is_sent(params_service, fake_pushover):
    result = run(params_service, "MenuIntent", {"Day": "monday", "When": "next tuesday"})
    assert speech(result) == (
        "I couldn't put that notification together: the timestamp came out as 'next tuesday', not a whole number."
    )
    assert sent(fake_pushover) == []


def test_more_than_50_user_keys_is_refused_before_anything_is_sent(make, fake_pushover):
    text = """
    notifiers:
      everyone: {token_env: EVERYONE_TOKEN, user_env: EVERYONE_USER}
    intents:
      A: {notify: {notifier: everyone, message: hi}}
    """
    environ = {"EVERYONE_TOKEN": TOKEN, "EVERYONE_USER": ",".join([USER] * 51)}
    result = run(make(text, fake_pushover, environ=environ), "A")
    assert result.outcomes[0].status == Status.REFUSED
    assert speech(result) == (
        "Pushover refused the notification: a message can go to at most 50 user keys, not 51. "
        "Please check the skill's Pushover keys."
    )
    assert fake_pushover.requests == []
    environ["EVERYONE_USER"] = ",".join([USER] * 50)
    assert run(make(text, fake_pushover, environ=environ), "A").outcomes[0].status == Status.SENT


# ---------------------------------------------------------------- 6. quota


def test_the_quota_is_kept_logged_warned_about_and_a_429_is_heard_once(make, caplog):
    with FakePushover(limit=10_000, remaining=1_001, reset=1_767_225_600) as fake:
        service = make("intents: {A: {notify: {message: hi}}}", fake)
        assert service.client.quota is None
        with caplog.at_level(logging.DEBUG, logger="skill.pushover"):
            run(service, "A")
        quota = service.client.quota
        assert (quota.limit, quota.remaining, quota.reset) == (10_000, 1_000, 1_767_225_600)
        assert "Pushover quota: 1000 of 10000 messages left, resets at 1767225600" in caplog.text
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

        run(service, "A")  # 999 left: under 10 %
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == ["Pushover quota is low: 999 of 10000 messages left this month"]

        fake.enqueue(status=429)
        result = run(service, "A")
        assert speech(result) == "Pushover's monthly message limit for this skill is used up, so nothing was sent."
        assert result.outcomes[0].status == Status.QUOTA
        assert service.client.quota.remaining == 0
        assert len(fake.requests_to("messages")) == 3  # the 429 was not retried


# ---------------------------------------------------------------- docs/pushover.md


def yaml_blocks(path: Path) -> list[tuple[int, str]]:
    """Each ```yaml block of a Markdown file, with the line its text starts on."""
    text = path.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start(1)) + 1, m.group(1))
        for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    ]


DOC = REPO / "docs" / "pushover.md"


def test_docs_have_yaml_examples():
    assert len(yaml_blocks(DOC)) >= 6


@pytest.mark.parametrize(("line", "block"), yaml_blocks(DOC) if DOC.exists() else [], ids=lambda v: str(v)[:12])
def test_every_yaml_example_in_the_docs_loads(line, block):
    imap = parse_intent_map(textwrap.dedent(block), f"docs/pushover.md@{line}")
    assert imap.intents
    assert [w for w in imap.warnings if w.code != "custom-sound"] == []
