"""Hot reload (skill.reloader): a good edit is swapped in, a bad one keeps the last good map serving."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from skill.alexa import build_request_envelope, build_skill
from skill.intent_map import IntentMap, load_intent_map
from skill.reloader import Generation, MapHolder, MapWatcher
from skill.service import Service
from skill.web import create_app, skill_of
from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.helpers import make_settings, write
from tests.test_serve import FIXTURE, serving

MAP = """\
intents:
  LocateIntent:
    samples: ["where is {User}"]
    slots: {User: AMAZON.FirstName}
    notify:
      message: "{text} {{ User }}"
"""
#: how long a test waits for the watcher (it polls every few hundredths of a second here)
WAIT_S = 20.0


def map_text(text: str) -> str:
    return MAP.replace("{text}", text)


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds; bounded in time."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {WAIT_S} s")
        time.sleep(0.02)


def rewrite(path: Path, text: str) -> None:
    """Write the file as an editor would, with a new mtime even within one clock tick."""
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def build(imap: IntentMap, old: Generation | None) -> tuple[Service, object]:
    service = Service(imap, make_settings())
    return service, build_skill(service)


def message_of(holder: MapHolder) -> str:
    spec = holder.current.intent_map.intents["LocateIntent"]
    return str(spec.notifications[0].fields["message"].templates.values["default"].source)


def test_a_good_edit_is_swapped_in_and_a_bad_one_keeps_the_last_good_map(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, map_text("first"))
    holder = MapHolder(str(path), load_intent_map, build)
    assert (holder.current.number, holder.status.ok) == (1, True)
    first = holder.current

    rewrite(path, map_text("second"))
    assert holder.changed()
    status = holder.reload()
    assert (status.ok, status.generation, holder.current.number) == (True, 2, 2)
    assert "second" in message_of(holder)
    assert first.intent_map.intents["LocateIntent"] is not holder.current.intent_map.intents["LocateIntent"]
    assert not status.model_changed  # only the message changed: nothing to upload to Alexa

    rewrite(path, map_text("third").replace("notify:", "notfy:"))
    with caplog.at_level(logging.ERROR, logger="skill.reloader"):
        status = holder.reload()
    assert (status.ok, status.generation, holder.current.number) == (False, 2, 2)
    assert "second" in message_of(holder)  # still serving the last good map
    assert status.problems and all(p.startswith(f"{path}:") for p in status.problems)
    assert any("notfy" in p for p in status.problems)
    assert any("still serving the previous map" in r.getMessage() for r in caplog.records)
    assert not holder.changed()  # the refused bytes are not tried again until they change

    rewrite(path, map_text("fourth"))
    status = holder.reload()
    assert (status.ok, status.problems, holder.current.number) == (True, (), 3)
    assert "fourth" in message_of(holder)


def test_an_edit_of_samples_says_to_upload_the_model(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, map_text("one"))
    holder = MapHolder(str(path), load_intent_map, build)
    rewrite(path, map_text("one").replace('"where is {User}"', '"where is {User}", "find {User}"'))
    with caplog.at_level(logging.WARNING, logger="skill.reloader"):
        status = holder.reload()
    assert status.ok and status.model_changed
    assert any("regenerate the interaction model" in r.getMessage() for r in caplog.records)


def test_a_deleted_file_keeps_the_map_and_names_the_problem(tmp_path: Path) -> None:
    path = write(tmp_path, map_text("kept"))
    holder = MapHolder(str(path), load_intent_map, build)
    path.unlink()
    assert holder.changed()
    status = holder.reload()
    assert not status.ok and str(path) in status.problems[0]
    assert "kept" in message_of(holder)


def test_the_watcher_reloads_on_change_and_on_request(tmp_path: Path) -> None:
    path = write(tmp_path, map_text("a"))
    loads: list[str] = []

    def counting_load(p: str) -> IntentMap:
        loads.append(p)
        return load_intent_map(p)

    holder = MapHolder(str(path), counting_load, build)
    watcher = MapWatcher(holder, poll_s=0.02)
    watcher.start()
    try:
        rewrite(path, map_text("b"))
        wait_for(lambda: holder.current.number == 2, "a reload after the edit")
        assert "b" in message_of(holder)
        before = len(loads)
        watcher.request()  # SIGHUP: reload although nothing changed
        wait_for(lambda: len(loads) > before, "a reload on request")
        wait_for(lambda: holder.current.number == 3, "the requested reload to finish")
    finally:
        watcher.stop()


# --------------------------------------------------------------------------- a running server


def _ask(url: str) -> dict[str, object]:
    response = requests.post(
        f"{url}/alexa", data=FIXTURE.read_bytes(), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def health_of(url: str) -> dict[str, object]:
    """The ``intent_map`` part of /healthz."""
    health: dict[str, object] = requests.get(f"{url}/healthz", timeout=10).json()["intent_map"]
    return health


def test_edits_under_a_running_server(tmp_path: Path, fake_pushover: FakePushover) -> None:
    """Good edit -> the new text is sent; bad edit -> the old text is still sent and /healthz names the problem."""
    path = write(tmp_path, map_text("Before the edit:"))
    env = {"PUSHOVER_API_URL": fake_pushover.url, "PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER}
    with serving(tmp_path, "--no-verify", "--intent-map", str(path), env=env) as served:
        assert "(reload on change: on)" in served.stderr
        _ask(served.url)
        assert fake_pushover.requests_to("messages")[-1].form["message"] == "Before the edit: Paulus"

        rewrite(path, map_text("After a good edit:"))
        wait_for(
            lambda: requests.get(f"{served.url}/healthz", timeout=10).json()["intent_map"]["generation"] == 2, "reload"
        )
        _ask(served.url)
        assert fake_pushover.requests_to("messages")[-1].form["message"] == "After a good edit: Paulus"

        rewrite(path, map_text("After a bad edit:").replace("{{ User }}", "{{ User "))
        wait_for(lambda: not health_of(served.url)["ok"], "refusal")
        health = health_of(served.url)
        assert health["generation"] == 2 and health["problems"]
        assert all(p.startswith(f"{path}:") for p in health["problems"]), health
        _ask(served.url)
        assert fake_pushover.requests_to("messages")[-1].form["message"] == "After a good edit: Paulus"
        assert "reload refused" in served.stderr

        rewrite(path, map_text("Fixed:"))
        wait_for(lambda: health_of(served.url)["ok"], "fix")
        _ask(served.url)
        assert fake_pushover.requests_to("messages")[-1].form["message"] == "Fixed: Paulus"
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=15) == 0


def test_sighup_reloads_and_no_reload_turns_watching_off(tmp_path: Path) -> None:
    path = write(tmp_path, map_text("one"))
    with serving(tmp_path, "--no-verify", "--dry-run", "--no-reload", "--intent-map", str(path)) as served:
        assert "(reload on change: off (--no-reload))" in served.stderr
        rewrite(path, map_text("two"))
        time.sleep(0.5)  # give a (wrongly started) watcher time to act; it must not
        assert health_of(served.url)["generation"] == 1
    with serving(tmp_path, "--no-verify", "--dry-run", "--intent-map", str(path)) as served:
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: health_of(served.url)["generation"] == 2, "a reload on SIGHUP")
        assert "ssml" in json.dumps(_ask(served.url)["response"])


# --------------------------------------------------------------------------- unknown ids across a reload

HALL = "amzn1.ask.device.HALL01"
GUEST = "amzn1.ask.person.GUEST01"


def test_unknown_ids_outlive_a_reload_until_the_map_has_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """/healthz keeps listing the Echo and voice the map lacks after a good edit; an edit that adds them drops them."""
    path = write(tmp_path, map_text("one"))
    settings = make_settings(intent_map_path=str(path), alexa_verify=False, outbox_path=str(tmp_path / "o.sqlite3"))
    app = create_app({"TESTING": True, "SETTINGS": settings})
    client = app.test_client()

    def speak() -> None:
        envelope = build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, device_id=HALL,
                                          person_id=GUEST)  # fmt: skip
        assert client.post("/alexa", json=envelope).status_code == 200

    def unknown() -> tuple[dict[str, int], dict[str, int]]:
        people = client.get("/healthz").get_json()["people"]
        return people["unknown_device_ids"]["ids"], people["unknown_person_ids"]["ids"]

    try:
        with caplog.at_level(logging.DEBUG, logger="skill.people"):
            speak()
            assert unknown() == ({HALL: 1}, {GUEST: 1})
            rewrite(path, map_text("two"))
            assert skill_of(app).holder.reload().ok and skill_of(app).holder.current.number == 2
            assert unknown() == ({HALL: 1}, {GUEST: 1})  # the new generation's service still knows them
            speak()
            assert unknown() == ({HALL: 2}, {GUEST: 2})
        hints = [r for r in caplog.records if HALL in r.getMessage()]
        assert len(hints) == 1  # logged once, not again after the reload
        assert hints[0].levelno == logging.DEBUG  # this map has no rooms: at all, so nobody asked for the hint
        rewrite(path, map_text("three") + f"rooms: {{{HALL}: hall}}\n")
        assert skill_of(app).holder.reload().ok
        assert unknown() == ({}, {GUEST: 2})  # the Echo has a room now; the voice is still unknown
    finally:
        skill_of(app).close()


def test_an_echo_without_a_room_is_logged_at_info_when_the_map_has_rooms(tmp_path: Path, caplog) -> None:
    path = write(tmp_path, map_text("one") + "rooms: {amzn1.ask.device.KITCHEN01: kitchen}\n")
    settings = make_settings(intent_map_path=str(path), alexa_verify=False, outbox_path=str(tmp_path / "o.sqlite3"))
    app = create_app({"TESTING": True, "SETTINGS": settings})
    try:
        envelope = build_request_envelope("IntentRequest", "LocateIntent", {"User": "Paulus"}, device_id=HALL)
        with caplog.at_level(logging.DEBUG, logger="skill.people"):
            assert app.test_client().post("/alexa", json=envelope).status_code == 200
        (hint,) = [r for r in caplog.records if HALL in r.getMessage()]
        assert hint.levelno == logging.INFO and f"add rooms: {{{HALL}: <room name>}}" in hint.getMessage()
    finally:
        skill_of(app).close()
