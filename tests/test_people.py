"""skill.people: who is speaking and where, from plain ids (no envelope, no network)."""

from __future__ import annotations

import logging

import pytest

from skill.intent_map import PersonSpec
from skill.people import MAX_UNKNOWN_IDS, People, Refusal, Sightings, Speaker, SpokenName, match_key

PAULUS_ID = "amzn1.ask.person.PAULUS0001"
PAULUS_OLD_ID = "amzn1.ask.person.PAULUS0002"
ANNA_ID = "amzn1.ask.person.ANNA0001"
KITCHEN = "amzn1.ask.device.KITCHEN01"
HALL = "amzn1.ask.device.HALL01"


@pytest.fixture
def people() -> People:
    return People(
        {
            "paulus": PersonSpec("paulus", (PAULUS_ID, PAULUS_OLD_ID), "PAULUS_PUSHOVER_USER", ("pixel",)),
            "Anna-Lena": PersonSpec("Anna-Lena", (ANNA_ID,), "ANNA_PUSHOVER_USER", synonyms=("mum", "Jürgen's wife")),
        },
        {KITCHEN: "kitchen"},
    )


def test_a_known_voice_on_a_known_echo(people):
    speaker = people.identify(PAULUS_OLD_ID, KITCHEN)
    assert speaker.name == "paulus"
    assert speaker.room == "kitchen"
    names = speaker.template_names()
    assert {k: v for k, v in names.items() if k != "speaker_name"} == {
        "speaker": "paulus", "room": "kitchen", "person_id": PAULUS_OLD_ID, "device_id": KITCHEN,
    }  # fmt: skip


def test_no_voice_and_an_echo_without_a_room(people):
    speaker = people.identify(None, HALL)
    assert (speaker.name, speaker.room, speaker.person_id, speaker.device_id) == ("", "", "", HALL)


@pytest.mark.parametrize("bad", ["", "amzn1.ask.person.X\nINFO forged line", "<b>", "x" * 401, 7])
def test_what_is_not_an_id_counts_as_no_id(people, bad):
    speaker = people.identify(bad, bad)
    assert (speaker.person_id, speaker.device_id, speaker.person) == ("", "", None)
    assert people.health()["unknown_person_ids"]["requests"] == 0


def test_unknown_ids_are_logged_once_each_and_counted(people, caplog):
    caplog.set_level(logging.INFO, logger="skill.people")
    for _ in range(3):
        people.identify("amzn1.ask.person.GUEST", HALL)
    people.identify(PAULUS_ID, KITCHEN)
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "amzn1.ask.person.GUEST" in line]) == 1
    assert len([line for line in lines if HALL in line]) == 1
    guest = next(r for r in caplog.records if "GUEST" in r.getMessage())
    assert guest.levelno == logging.WARNING
    assert "people: <name>: person_ids: [amzn1.ask.person.GUEST]" in guest.getMessage()
    assert f"rooms: {{{HALL}: <room name>}}" in next(line for line in lines if HALL in line)
    health = people.health()
    assert health["people"] == 2 and health["rooms"] == 1
    assert health["unknown_person_ids"] == {"requests": 3, "ids": {"amzn1.ask.person.GUEST": 3}, "more": 0}
    assert health["unknown_device_ids"] == {"requests": 3, "ids": {HALL: 3}, "more": 0}


def test_sightings_are_bounded():
    sightings = Sightings(limit=MAX_UNKNOWN_IDS)
    firsts = [sightings.add(f"amzn1.ask.device.D{i}") for i in range(MAX_UNKNOWN_IDS + 5)]
    sightings.add("amzn1.ask.device.D0")
    assert firsts.count(True) == MAX_UNKNOWN_IDS
    snap = sightings.snapshot()
    assert len(snap["ids"]) == MAX_UNKNOWN_IDS
    assert snap["more"] == 5 and snap["requests"] == MAX_UNKNOWN_IDS + 6


def test_to_me_is_the_recognized_speaker(people):
    assert people.recipient("me", people.identify(ANNA_ID, KITCHEN)).name == "Anna-Lena"
    assert people.recipient(" Me ", people.identify(PAULUS_ID, None)).name == "paulus"


def test_to_me_without_a_voice_or_with_a_voice_the_map_lacks_goes_to_nobody(people, caplog):
    assert people.recipient("me", people.identify(None, KITCHEN)) == Refusal("voice_unknown")
    caplog.set_level(logging.WARNING, logger="skill.people")
    assert people.recipient("me", people.identify("amzn1.ask.person.GUEST", KITCHEN)) == Refusal("voice_not_in_map")
    hint = [r.getMessage() for r in caplog.records if "to: me" in r.getMessage()]
    assert hint and "people: <name>: person_ids: [amzn1.ask.person.GUEST]" in hint[0]


@pytest.mark.parametrize(
    ("said", "who"),
    [
        ("paulus", "paulus"), ("Paulus", "paulus"), ("PAULUS ", "paulus"), ("anna lena", "Anna-Lena"),
        ("Anna-Lena", "Anna-Lena"), ("annalena", "Anna-Lena"), ("Mum", "Anna-Lena"), ("jurgens wife", "Anna-Lena"),
    ],
)  # fmt: skip
def test_names_match_forgivingly(people, said, who):
    assert people.recipient(said, Speaker()).name == who


@pytest.mark.parametrize(
    ("said", "refusal"),
    [
        ("Paula", Refusal("person_unknown", "Paula")),
        ("  ", Refusal("person_missing")),
        ("!!", Refusal("person_unknown", "!!")),
    ],
)
def test_a_name_that_is_no_person_goes_to_nobody(people, said, refusal):
    assert people.recipient(said, people.identify(PAULUS_ID, KITCHEN)) == refusal


def test_user_key_to_person_name(people):
    environ = {"PAULUS_PUSHOVER_USER": "uPaulusKey", "ANNA_PUSHOVER_USER": "uAnnaKey, uAnnaTablet"}
    assert people.name_for_user_key("uAnnaTablet", environ) == "Anna-Lena"
    assert people.name_for_user_key("uPaulusKey", environ) == "paulus"
    assert people.name_for_user_key("uSomeoneElse", environ) is None
    assert people.name_for_user_key("", environ) is None
    assert people.name_for_user_key("uPaulusKey", {}) is None


def test_spoken_name_is_alexas_tag_in_speech_and_the_key_elsewhere():
    name = SpokenName(PAULUS_ID, "paulus")
    assert name.__html__() == f'<alexa:name type="first" personId="{PAULUS_ID}"/>'
    assert str(name) == "paulus"
    assert not SpokenName("", "")
    # an id that is not one never reaches the tag
    forged = SpokenName('x"/><audio src="https://evil"/>', "")
    assert "<" not in forged.__html__() and not forged


def test_match_key():
    assert match_key("Jürgen-M.") == match_key("jurgen m") == "jurgenm"
