"""skill.online (``check --online``) against the fake Pushover API: every problem at its map position."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest

from skill.__main__ import main
from skill.errors import Problem
from skill.online import check_online
from tests.fake_pushover import GROUP, TOKEN, USER, FakePushover, closed_port
from tests.helpers import make_settings, parse, write

FAMILY_TOKEN = "bFamilyAppTokenQ7w3r9t1y5u2i8o"
PARTNER = "uPartnerUserKeyP0o9i8u7y6t5r4e"
#: A key of the right shape that the fake does not know.
STRANGER = "uStrangerKeyX1c2v3b4n5m6a7s8d9"

MAP = """
notifiers:
  family: {token_env: FAMILY_TOKEN, user_env: FAMILY_USER}
intents:
  DoorIntent:
    notify:
      message: Someone is at the door
      target: [pixel3, iphone]
      sound: doorbell
  FamilyIntent:
    notify:
      notifier: family
      message: Dinner is ready
      target: tablet
      sound: siren
  PanicIntent:
    notify: {message: Help, priority: 2, retry: 30, expire: 300}
  CalmIntent: {cancel_alerts: PanicIntent}
"""


@pytest.fixture
def fake() -> Iterator[FakePushover]:
    """The fake with a second application (family) and a second user who owns a tablet."""
    with FakePushover(
        tokens=(TOKEN, FAMILY_TOKEN), users={USER: ["pixel3", "pixel4a", "iphone"], PARTNER: ["tablet"]}
    ) as server:
        yield server


def family_env(user: str = f"{USER},{PARTNER}", token: str = FAMILY_TOKEN) -> dict[str, str]:
    return {"FAMILY_TOKEN": token, "FAMILY_USER": user}


def at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """Line and column (1-based) of the nth ``needle`` in the dedented map."""
    source = textwrap.dedent(text).lstrip("\n")
    index = -1
    for _ in range(nth):
        index = source.index(needle, index + 1)
    line = source.count("\n", 0, index) + 1
    return line, index - (source.rfind("\n", 0, index) + 1) + 1


def where(problems: list[Problem]) -> list[tuple[int, int, str]]:
    return [(p.line, p.col, p.severity) for p in problems]


def check(text: str, fake: FakePushover | None, **settings: object) -> list[Problem]:
    imap = parse(text)
    return check_online(imap, make_settings(fake, **settings) if fake else make_settings(**settings))


# ---------------------------------------------------------------- a map that is right


def test_a_correct_map_has_no_problems_and_each_thing_is_asked_once(fake):
    problems = check(MAP, fake, environ=family_env())
    assert problems == []
    sounds = fake.requests_to("sounds")
    assert sorted(r.query["token"] for r in sounds) == sorted([TOKEN, FAMILY_TOKEN])
    validated = [(r.form["token"], r.form["user"]) for r in fake.requests_to("validate")]
    assert validated == [(FAMILY_TOKEN, USER), (FAMILY_TOKEN, PARTNER), (TOKEN, USER)]
    assert fake.requests_to("messages") == []


def test_the_custom_sound_warning_goes_when_the_account_has_the_sound(fake):
    imap = parse(MAP)
    assert [w.code for w in imap.warnings] == ["custom-sound"]
    assert check_online(imap, make_settings(fake, environ=family_env())) == []


def test_a_group_key_is_valid_and_its_devices_are_not_guessed(fake):
    text = """
    notifiers:
      team: {token_env: TEAM_TOKEN, user_env: TEAM_USER}
    intents:
      A: {notify: {notifier: team, message: hi, target: laptop}}
    """
    problems = check(text, fake, environ={"TEAM_TOKEN": TOKEN, "TEAM_USER": GROUP})
    (problem,) = problems
    assert (problem.line, problem.col) == at(text, "laptop")
    assert problem.severity == "warning" and problem.code == "device-unchecked"
    assert problem.message == (
        "device 'laptop' was not checked: TEAM_USER holds a group key, "
        "and Pushover does not list the devices of a group's members"
    )
    mixed = check(text, fake, environ={"TEAM_TOKEN": TOKEN, "TEAM_USER": f"{USER},{GROUP}"})
    assert [(p.code, p.severity) for p in mixed] == [("device-unchecked", "warning")]
    assert (
        check(text.replace("laptop", "pixel3"), fake, environ={"TEAM_TOKEN": TOKEN, "TEAM_USER": f"{USER},{GROUP}"})
        == []
    )


# ---------------------------------------------------------------- what is wrong, and where


def test_an_unknown_literal_device_is_an_error_at_the_target(fake):
    text = MAP.replace("[pixel3, iphone]", "[pixel3, kitchen]")
    (problem,) = check(text, fake, environ=family_env())
    assert (problem.line, problem.col, problem.severity) == (*at(text, "kitchen"), "error")
    assert problem.message == (
        "device 'kitchen' is not a device of PUSHOVER_USER (Pushover would send to every device); "
        "the devices are pixel3, pixel4a and iphone"
    )


def test_a_device_spelled_differently_is_an_error_unless_the_map_matches_forgivingly(fake):
    text = MAP.replace("[pixel3, iphone]", "[Pixel-3, iphone]")
    (problem,) = check(text, fake, environ=family_env())
    assert (problem.line, problem.col) == at(text, "Pixel-3")
    assert problem.message.endswith("did you mean 'pixel3'?")
    forgiving = text.replace("sound: doorbell", "sound: doorbell\n      validate_devices: true")
    assert check(forgiving, fake, environ=family_env()) == []


def test_a_device_of_the_second_user_key_is_known(fake):
    text = MAP.replace("target: tablet", "target: [tablet, pixel4a]")
    assert check(text, fake, environ=family_env()) == []
    (problem,) = check(text, fake, environ=family_env(user=PARTNER))
    assert (problem.line, problem.col) == at(text, "pixel4a]")
    assert "is not a device of FAMILY_USER" in problem.message


def test_an_unknown_custom_sound_is_an_error_at_the_sound(fake):
    text = MAP.replace("sound: doorbell", "sound: chime")
    (problem,) = check(text, fake, environ=family_env())
    assert (problem.line, problem.col, problem.severity) == (*at(text, "chime"), "error")
    assert problem.message == (
        "sound 'chime' is neither built in nor a custom sound of this account (its custom sounds are doorbell)"
    )


def test_sounds_of_each_locale_are_checked(fake):
    text = MAP.replace("sound: doorbell", "sound: {en-US: doorbell, de-DE: klingel}")
    (problem,) = check(text, fake, environ=family_env())
    assert "'klingel'" in problem.message


def test_a_bad_token_is_one_problem_at_the_notifier_and_nothing_else_is_asked(fake):
    (problem,) = check(MAP, fake, environ=family_env(token="x" * 30))
    assert (problem.line, problem.col) == at(MAP, "family:")
    assert problem.message == (
        "notifier family: FAMILY_TOKEN is not a valid application token (Pushover says: application token is invalid)"
    )
    assert all(r.form.get("token") != "x" * 30 for r in fake.requests_to("validate"))


def test_a_bad_default_token_points_at_the_first_notification_that_uses_it(fake):
    problems = check(MAP, fake, environ=family_env(), pushover_token="y" * 30)
    assert [(p.line, p.col, p.severity, p.code) for p in problems] == [
        (*at(MAP, "message: Someone"), "error", ""),
        (*at(MAP, "doorbell"), "warning", "custom-sound"),  # not asked: that token cannot list its sounds
    ]
    assert problems[0].message.startswith("notify.notify: PUSHOVER_TOKEN is not a valid application token")


def test_each_user_key_of_several_is_validated_and_named_without_showing_it(fake):
    (problem,) = check(MAP, fake, environ=family_env(user=f"{USER}, {STRANGER} ,{PARTNER}"))
    assert (problem.line, problem.col) == at(MAP, "family:")
    assert problem.message.startswith("notifier family: key 2 of 3 in FAMILY_USER (<30 chars, ends …d9>)")
    assert problem.message.endswith(
        "is not a valid user or group key (Pushover says: user identifier is not a valid user, group, "
        "or subscribed user key)"
    )
    assert STRANGER not in problem.message
    assert len(fake.requests_to("validate")) == 1 + 3


def test_more_than_50_user_keys_is_a_clear_error(fake):
    keys = ",".join([USER] * 51)
    (problem,) = check(MAP, fake, environ=family_env(user=keys))
    assert (problem.line, problem.col) == at(MAP, "family:")
    assert problem.message == (
        "notifier family: FAMILY_USER holds 51 user keys; Pushover takes at most 50 in one message"
    )
    assert [r.form["user"] for r in fake.requests_to("validate")] == [USER]  # the default notifier only
    assert check(MAP, fake, environ=family_env(user=",".join([USER] * 49 + [PARTNER]))) == []


def test_missing_variables_are_named_and_the_sound_warning_stays(fake):
    problems = check(MAP, fake, environ={}, pushover_user=None)
    assert [(p.line, p.col, p.severity, p.code) for p in problems] == [
        (*at(MAP, "family:"), "error", ""),
        (*at(MAP, "message: Someone"), "error", ""),
        (*at(MAP, "doorbell"), "warning", "custom-sound"),
    ]
    assert problems[0].message == (
        "notifier family needs FAMILY_TOKEN and FAMILY_USER, which are not set; "
        "its keys, devices and sounds were not checked"
    )
    assert problems[1].message.startswith("notify.notify needs PUSHOVER_USER, which is not set;")
    assert fake.requests == []


def test_home_assistant_form_targets_are_checked_where_they_stand(fake):
    text = """
    alexa:
      intents:
        LocateIntent:
          action:
            action: notify.notify
            data:
              message: hi
              target: [pixel3, iphone11pro]
              data: {sound: falling}
    """
    (problem,) = check(text, fake)
    assert (problem.line, problem.col) == at(text, "iphone11pro")


# ---------------------------------------------------------------- Pushover out of reach


@pytest.mark.parametrize("how", ["closed-port", "503", "dropped", "wrong-url"])
def test_unreachable_pushover_is_one_problem(fake, how):
    url = {"closed-port": closed_port(), "wrong-url": fake.url.removesuffix("/1")}.get(how, fake.url)
    if how == "503":
        fake.down()
    if how == "dropped":
        fake.down(close=True)
    problems = check(MAP, fake, environ=family_env(), pushover_api_url=url)
    reach = [p for p in problems if "could not be asked" in p.message]
    assert len(reach) == 1
    assert (reach[0].path, reach[0].line) == ("map.yaml", 0)
    assert reach[0].message.startswith(f"Pushover could not be asked at {url}: ")
    assert reach[0].message.endswith("nothing more was checked online")
    assert ("check PUSHOVER_API_URL" in reach[0].message) == (how == "wrong-url")
    # The warning it could not settle stays a warning.
    assert [p.code for p in problems if p is not reach[0]] == ["custom-sound"]
    assert len(fake.requests) <= 2  # the first question (retried once when the connection dropped)


def test_no_secret_in_any_problem(fake):
    texts = []
    for env, token in [
        (family_env(user=f"{USER},{STRANGER}"), TOKEN),
        (family_env(token="z" * 30), "w" * 30),
        (family_env(user=",".join([PARTNER] * 60)), TOKEN),
    ]:
        texts += [str(p) for p in check(MAP.replace("iphone", "ipad"), fake, environ=env, pushover_token=token)]
    assert texts
    for text in texts:
        for secret in (TOKEN, USER, FAMILY_TOKEN, PARTNER, STRANGER, "z" * 30, "w" * 30):
            assert secret not in text


# ---------------------------------------------------------------- through the command line


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, fake: FakePushover) -> None:
    """The environment `check --online` reads, pointed at the fake."""
    for name in ("INTENT_MAP", "ATTACHMENT_DIRS", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PUSHOVER_TOKEN", TOKEN)
    monkeypatch.setenv("PUSHOVER_USER", USER)
    monkeypatch.setenv("PUSHOVER_API_URL", fake.url)
    for name, value in family_env().items():
        monkeypatch.setenv(name, value)


def test_cli_check_online_passes_where_offline_check_warns(tmp_path, capsys, cli_env):
    path = write(tmp_path, MAP)
    args = ["check", "--intent-map", str(path)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "warning: DoorIntent.notify.sound: 'doorbell' is not a built-in sound" in err
    assert out.endswith("1 warning\n")
    assert main([*args, "--online"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.endswith("0 warnings\n")


def test_cli_check_online_prints_each_problem_with_its_position_and_fails(tmp_path, capsys, cli_env, monkeypatch):
    text = MAP.replace("[pixel3, iphone]", "[pixel3, kitchen]").replace("sound: doorbell", "sound: chime")
    path = write(tmp_path, text)
    monkeypatch.setenv("FAMILY_USER", f"{USER},{PARTNER},{STRANGER}")
    assert main(["check", "--online", "--intent-map", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines == [
        f"{path}:{':'.join(map(str, at(MAP, 'family:')))}: notifier family: key 3 of 3 in FAMILY_USER "
        "(<30 chars, ends …d9>) is not a valid user or group key "
        "(Pushover says: user identifier is not a valid user, group, or subscribed user key)",
        f"{path}:{':'.join(map(str, at(text, 'kitchen')))}: device 'kitchen' is not a device of PUSHOVER_USER "
        "(Pushover would send to every device); the devices are pixel3, pixel4a and iphone",
        f"{path}:{':'.join(map(str, at(text, 'chime')))}: sound 'chime' is neither built in nor a custom sound "
        "of this account (its custom sounds are doorbell)",
    ]
    assert STRANGER not in err and TOKEN not in err


def test_cli_check_online_with_pushover_down_fails_with_one_line(tmp_path, capsys, cli_env, monkeypatch):
    path = write(tmp_path, MAP)
    monkeypatch.setenv("PUSHOVER_API_URL", closed_port())
    assert main(["check", "--online", "--intent-map", str(path)]) == 1
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "could not be asked" in line] == [
        next(line for line in err.splitlines() if line.startswith(f"{path}: Pushover could not be asked"))
    ]
    assert "warning: DoorIntent.notify.sound" in err


# ---------------------------------------------------------------- people: each person's own key and devices


def test_each_person_is_checked_with_their_own_key_and_devices(fake):
    text = """
    people:
      partner: {user_env: PARTNER_USER, devices: [tablet]}
      stranger: {user_env: STRANGER_USER}
      typo: {user_env: TYPO_USER, devices: [pixle3]}
      nobody: {user_env: NOBODY_USER}
    intents:
      A: {notify: {to: me, message: hi}}
    """
    environ = {"PARTNER_USER": PARTNER, "STRANGER_USER": STRANGER, "TYPO_USER": USER}
    problems = check(text, fake, environ=environ)
    messages = [p.message for p in problems]
    assert [(p.line, p.col) for p in problems] == [at(text, "stranger"), at(text, "typo"), at(text, "nobody")]
    assert messages[0].startswith("person stranger: STRANGER_USER is not a valid user or group key")
    assert "device 'pixle3' is not a device of TYPO_USER" in messages[1]
    assert messages[2] == (
        "person nobody needs NOBODY_USER, which is not set; its keys, devices and sounds were not checked"
    )
    validated = {r.form["user"] for r in fake.requests_to("validate")}
    assert validated == {PARTNER, STRANGER, USER}
    assert fake.requests_to("messages") == []
