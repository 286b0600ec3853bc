"""Property tests: whatever a client sends, whatever a person says, whatever a map holds, the skill stays calm.

Webhook bodies go through ``alexa.parse_envelope`` + ``alexa.invoke`` and through the Flask
endpoint: the only error is InvalidRequestError (HTTP 400, never a 500), no traceback is logged,
and a refused body sends nothing. Slot values arrive at Pushover as data and the speech is
valid SSML. The intent-map loader answers any mutated YAML with an IntentMap or ConfigError.

Every test is bounded and derandomized (no example database), so a CI run is reproducible;
``FUZZ_EXAMPLES=2000`` searches deeper locally.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from skill import const
from skill.alexa import Result, build_request_envelope, build_skill, invoke, parse_envelope, resolved_slot
from skill.errors import ConfigError, InvalidRequestError
from skill.intent_map import load_intent_map, parse_intent_map
from skill.render import truncate
from skill.service import Service
from skill.web import create_app, skill_of
from tests.fake_pushover import FakePushover
from tests.ha_examples import HA_PUSHOVER_DOCS
from tests.helpers import make_service, make_settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MAP = """
intents:
  NoteIntent:
    slots: {Text: AMAZON.SearchQuery}
    notify: {message: "Note: {{ Text }}", title: "{{ Text | truncate(200) }}"}
    speech: "Noted {{ Text }}."
    reprompt: {type: ssml, text: "<s>{{ Text }}</s>, <emphasis>anything else?</emphasis>"}
    card: {title: Note, content: "{{ Text }}"}
  LocateIntent:
    slots: {User: AMAZON.FirstName}
    notify: {message: "Where is {{ User }} ({{ User_Id }})"}
    speech: "Asked {{ User }}."
  SendIntent:
    slots:
      Device: AMAZON.SearchQuery
      Who: {type: AMAZON.FirstName, required: true, prompt: "Who, {{ Device }}?"}
    notify: {message: "From {{ Who }}", target: "{{ Device }}"}
    speech: {type: ssml, text: "<s>Sent to {{ devices | join(' and ') }}</s>"}
"""

#: Characters that have broken parsers before: NUL, controls, lone surrogates, BOM, RTL, separators.
ODD = [
    "\x00", "\x01", "\x0b", "\x1b", "\x7f", "\r", "\n", "\t", "\ud800", "\udfff", "\ufeff", "\ufffe", "\uffff",
    "\u202e", "\u200f", "\u2028", "\u0301", "\U0001f600", "\U0010ffff",
]  # fmt: skip
#: Markup and syntax a person can say (or a client can send) that must stay plain data.
META = [
    "<", ">", "&", "&amp;", "'", '"', "]]>", "<speak>", "</speak>", "<audio src='x'/>", "<!--", "<?xml ?>",
    "{{", "}}", "{%", "%}", "{#", "{{ 7*7 }}", "{% for x in range(9) %}x{% endfor %}", "{{ ''.__class__ }}",
    "../", "..\\", "/etc/passwd", "%2e%2e%2f", "${HOME}", "%s", "\\u0000", "\\",
]  # fmt: skip

chars = st.characters(exclude_categories=()) | st.sampled_from(ODD)
pieces = st.text(chars, max_size=12) | st.sampled_from(ODD + META)
words = st.lists(pieces, max_size=8).map("".join)
huge = st.builds(
    lambda piece, n: piece * n, st.sampled_from(["x", "ü", "\U0001f600", "<&>", "{{"]), st.integers(1, 3000)
)
texts = words | huge
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


# --------------------------------------------------------------------------- shared, per module


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePushover]:
    with FakePushover() as server:
        yield server


@pytest.fixture(scope="module")
def service(fake: FakePushover) -> Iterator[Service]:
    svc = make_service(MAP, fake)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def skill(service: Service) -> Any:
    return build_skill(service)


@pytest.fixture(scope="module")
def app(fake: FakePushover, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The endpoint with verification off and a Service that sends to the fake Pushover."""
    outbox = tmp_path_factory.mktemp("fuzz") / "outbox.sqlite3"
    settings_ = make_settings(fake, alexa_verify=False, outbox_path=str(outbox))
    app = create_app({"TESTING": True, "SETTINGS": settings_, "SERVICE": make_service(MAP, fake)})
    yield app
    skill_of(app).close()


def valid_envelopes() -> list[dict[str, Any]]:
    """Real-shaped envelopes of every kind this skill answers."""
    envelopes = [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]
    envelopes += [
        build_request_envelope("IntentRequest", "NoteIntent", {"Text": "milk"}),
        build_request_envelope(
            "IntentRequest", "SendIntent", {"Device": resolved_slot("Device", "pixel three", "pixel3")}
        ),
        build_request_envelope("IntentRequest", "SendIntent", {"Device": "pixel3"}, dialog_state="STARTED"),
        build_request_envelope("IntentRequest", "AMAZON.HelpIntent"),
        build_request_envelope("LaunchRequest"),
        build_request_envelope("SessionEndedRequest"),
    ]
    return envelopes


ENVELOPES = valid_envelopes()


def paths_of(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON tree, the root included."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from paths_of(child, (*prefix, key))


def mutated(envelope: dict[str, Any], path: tuple[Any, ...], value: Any, *, delete: bool) -> Any:
    """A deep copy with the value at ``path`` replaced (or its key removed)."""
    if not path:
        return value
    result = copy.deepcopy(envelope)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> Any:
    """A valid envelope with one to three nested values replaced by random JSON or removed."""
    envelope: Any = draw(st.sampled_from(ENVELOPES))
    for _ in range(draw(st.integers(1, 3))):
        places = list(paths_of(envelope))
        path = draw(st.sampled_from(places))
        envelope = mutated(envelope, path, draw(json_values), delete=bool(path) and draw(st.booleans()))
    return envelope


def encode(value: Any, ascii: bool = True) -> bytes:
    """JSON bytes; without ``ascii``, text goes raw (a lone surrogate as the bytes no UTF-8 decoder takes)."""
    return json.dumps(value, ensure_ascii=ascii).encode("utf-8", "surrogatepass")


bodies = st.one_of(
    st.builds(encode, json_values, st.booleans()),
    st.builds(encode, mutated_envelopes(), st.booleans()),
    st.binary(max_size=300),
    st.builds(lambda env, cut: encode(env)[:cut], st.sampled_from(ENVELOPES), st.integers(0, 4000)),
)


# --------------------------------------------------------------------------- checks


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_traceback_logged() -> Iterator[list[logging.LogRecord]]:
    """Fail if anything logs a traceback (``exc_info``) or the word Traceback inside the block."""
    root = logging.getLogger()
    handler, level = _Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    for record in handler.records:
        assert not record.exc_info and not record.exc_text, f"traceback logged: {record.getMessage()}"
        assert "Traceback" not in record.getMessage()


def messages(fake: FakePushover) -> int:
    return len(fake.requests_to("messages"))


def xml_text(text: str) -> str:
    """What an XML parser reads back from ``text`` put inside an element: line ends normalized."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def assert_speech_is_ssml(response: dict[str, Any]) -> None:
    """Every outputSpeech (and reprompt) in a response parses as ``<speak>…</speak>``."""
    body = response.get("response") or {}
    for speech in (body.get("outputSpeech"), (body.get("reprompt") or {}).get("outputSpeech")):
        if speech and speech.get("type") == "SSML":
            assert ET.fromstring(speech["ssml"]).tag == "speak"


def run_direct(skill: Any, body: bytes) -> Result | None:
    """parse_envelope + invoke; None when the body was refused (the only exception allowed)."""
    try:
        return invoke(skill, parse_envelope(body))
    except InvalidRequestError:
        return None


# --------------------------------------------------------------------------- webhook bodies, directly


@FUZZ
@given(body=bodies)
def test_any_body_is_answered_or_refused_and_a_refusal_sends_nothing(skill: Any, fake: FakePushover, body: bytes):
    before = messages(fake)
    with no_traceback_logged():
        result = run_direct(skill, body)
    if result is None:
        assert messages(fake) == before
    else:
        assert_speech_is_ssml(result.response)


def null_resolution() -> dict[str, Any]:
    """Entity resolution that matched, with a null among its values."""
    slot = resolved_slot("User", "paulie", "Paulus", "paulus")
    slot["resolutions"]["resolutionsPerAuthority"][0]["values"] = [None]
    return build_request_envelope("IntentRequest", "LocateIntent", {"User": slot})


@FUZZ
@given(envelope=mutated_envelopes())
@example(envelope=null_resolution())  # slots_of read .value of None: a traceback and "something went wrong"
def test_a_mutated_envelope_as_a_mapping_is_answered_or_refused(skill: Any, fake: FakePushover, envelope: Any):
    """What Lambda hands over: an already parsed event (a dict, or anything else)."""
    before = messages(fake)
    with no_traceback_logged():
        try:
            result = invoke(skill, parse_envelope(envelope)) if isinstance(envelope, dict) else None
        except InvalidRequestError:
            result = None
    if result is None:
        assert messages(fake) == before
    else:
        assert_speech_is_ssml(result.response)


@FUZZ
@given(envelope=st.sampled_from(ENVELOPES), data=st.data())
def test_a_truncated_envelope_is_refused_and_sends_nothing(skill: Any, fake: FakePushover, envelope: Any, data: Any):
    body = encode(envelope)
    cut = data.draw(st.integers(0, len(body) - 1))
    before = messages(fake)
    with no_traceback_logged(), pytest.raises(InvalidRequestError):
        invoke(skill, parse_envelope(body[:cut]))
    assert messages(fake) == before


# --------------------------------------------------------------------------- slot values are data


@FUZZ
@given(value=texts)
@example(value="\x00")  # not XML: the speech was invalid SSML
@example(value="\ufffe")
@example(value="\ud800")  # not Unicode: requests could not encode it, a traceback was logged
def test_a_slot_value_is_sent_as_data_and_spoken_as_valid_ssml(skill: Any, fake: FakePushover, value: str):
    body = encode(build_request_envelope("IntentRequest", "NoteIntent", {"Text": value}))
    before = messages(fake)
    with no_traceback_logged():
        result = run_direct(skill, body)
    if result is None:  # only text that is not valid Unicode (a lone surrogate) may be refused
        assert re.search("[\ud800-\udfff]", value)
        assert messages(fake) == before
        return
    assert messages(fake) == before + 1
    sent = fake.requests_to("messages")[-1].form
    assert sent["message"] == truncate(f"Note: {value}".strip(), const.MAX_MESSAGE_CHARS)
    ssml = result.response["response"]["outputSpeech"]["ssml"]
    spoken = "".join(ET.fromstring(ssml).itertext())
    expected = xml_text(xml_safe(f"Noted {value}.".strip()))
    assert len(ssml) <= const.MAX_SPEECH_CHARS
    if spoken != expected:  # cut to fit Alexa's limit: a beginning of what was said, and "…"
        assert len(ssml) > const.MAX_SPEECH_CHARS - 100 and spoken.endswith("…")
        assert expected.startswith(spoken[:-1].rstrip())


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", text)


@FUZZ
@given(device=texts, who=texts)
def test_slot_values_in_targets_and_ssml_speech_never_break_the_answer(
    skill: Any, fake: FakePushover, device: str, who: str
):
    slots = {"Device": device, "Who": who}
    body = encode(build_request_envelope("IntentRequest", "SendIntent", slots, dialog_state="IN_PROGRESS"))
    before = messages(fake)
    with no_traceback_logged():
        result = run_direct(skill, body)
    if result is None:
        assert messages(fake) == before
        return
    assert_speech_is_ssml(result.response)
    for request in fake.requests_to("messages")[before:]:
        assert request.form["device"] in {"pixel3", "pixel4a", "iphone"}  # only real devices, never a broadcast


# --------------------------------------------------------------------------- webhook bodies, through Flask


@FUZZ
@given(body=bodies | st.sampled_from([b"", b"null", b"[]", b"{}", b"\xff\xfe", b"\x00" * 10]))
def test_the_endpoint_answers_200_400_or_413_never_500(app: Flask, fake: FakePushover, body: bytes):
    client = app.test_client()
    before = messages(fake)
    with no_traceback_logged():
        response = client.post("/alexa", data=body, content_type="application/json")
    if len(body) > const.MAX_BODY_BYTES:
        assert response.status_code == 413
    else:
        assert response.status_code in {200, 400}, response.get_data()
    if response.status_code == 200:
        assert_speech_is_ssml(response.get_json())
    else:
        assert messages(fake) == before
        assert set(response.get_json()) == {"error"}


@FUZZ
@given(
    body=bodies,
    content_type=st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "", "text/json", "application/jsonx"]
    ),
)
def test_the_endpoint_refuses_other_content_types(app: Flask, fake: FakePushover, body: bytes, content_type: str):
    before = messages(fake)
    with no_traceback_logged():
        response = app.test_client().post("/alexa", data=body, headers={"Content-Type": content_type})
    assert response.status_code == (413 if len(body) > const.MAX_BODY_BYTES else 400)
    assert messages(fake) == before


# --------------------------------------------------------------------------- the intent-map loader

SEEDS = [
    (ROOT / "intents.yaml").read_text(encoding="utf-8"),
    HA_PUSHOVER_DOCS,
    """\
intent_script:
  LocateIntent:
    speech:
      text: "Asking {{ User }}"
    reprompt:
      text: "Anything else?"
    action:
      - action: notify.notify
        data:
          message: "Where is {{ User }}?"
          target: [pixel3, "{{ Device }}"]
          data: {priority: 2, retry: 30, expire: 300, sound: siren}
""",
]

SCALARS = [
    "[1, 2]", "{a: b}", "{}", "[]", "42", "-1", "3.5", "1e9", "0x1F", ".nan", "!secret x", "!include y.yaml",
    "!!set {a, b}", "!!binary aGk=", "!!python/object/apply:os.system [ls]", "!!timestamp 2001-01-01",
    "null", "~", "true", "no", "'{{ x'", "\"{% for %}\"", "'{{ x.__class__ }}'", "*nothing", "&a x", "|", ">-",
    "? [a]", "- - -", "\"\\x00\"", "\"\\ud800\"", "'" + "x" * 2000 + "'", "{% if %}", "notify.turn_on",
    "!!timestamp x", "!!int abc", "!!float x", "!!bool maybe", "!!map [1]", "!!seq {a: 1}", "!!int 0x",
]  # fmt: skip


@st.composite
def mutated_maps(draw: st.DrawFn) -> str:
    """A seed map with one to four line edits: delete, duplicate, re-indent, swap a value, insert junk."""
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "indent", "swap", "junk", "key"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "indent":
            shift = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
            lines[i] = lines[i][-shift:] if shift < 0 else " " * shift + lines[i]
            if draw(st.booleans()):
                lines[i] = lines[i].replace("  ", "\t", 1)
        elif kind == "swap":
            head, sep, _ = lines[i].partition(": ")
            if sep:
                lines[i] = head + sep + draw(st.sampled_from(SCALARS) | words)
            else:
                lines[i] = lines[i].split("- ")[0] + "- " + draw(st.sampled_from(SCALARS))
        elif kind == "junk":
            junk = draw(st.binary(min_size=1, max_size=20)).decode("latin-1")
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + junk + lines[i][at:]
        else:
            indent = len(lines[i]) - len(lines[i].lstrip())
            key = draw(st.sampled_from(["? !t {a: 1}", "? !!set {a}", "? [1]", "1", "~", "<<", "? {a: 1}"]))
            lines.insert(i, " " * indent + key + ": " + draw(st.sampled_from(SCALARS)))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n", "\n..."]))


@FUZZ
@given(text=mutated_maps())
@example(text="intents:\n  ? !t {a: 1}\n  : x\n")  # keys no dict can hold raised TypeError
@example(text="intents:\n  ? !!set {a, b}\n  : x\n")
def test_a_mutated_intent_map_loads_or_raises_config_error(text: str):
    try:
        parse_intent_map(text, "m.yaml")
    except ConfigError as err:
        assert err.problems and all(p.message for p in err.problems)


@FUZZ
@given(text=st.text(chars, max_size=200) | st.lists(st.sampled_from(SCALARS + META), max_size=12).map("\n".join))
@example(text="!!timestamp")  # PyYAML's constructors raised AttributeError, ValueError, KeyError, TypeError
@example(text="a: !!int abc")
@example(text="a: !!bool maybe")
@example(text="a: !!map [1]")
@example(text="a: !!seq {a: 1}")
def test_any_text_as_an_intent_map_loads_or_raises_config_error(text: str):
    with suppress(ConfigError):
        parse_intent_map(text, "m.yaml")


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_in_the_map_file_raise_config_error_or_load(data: bytes, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.getbasetemp() / "fuzz-map.yaml"
    path.write_bytes(SEEDS[0].encode()[:200] + data)
    with suppress(ConfigError):
        load_intent_map(path)


def nested(depth: int, open_: str, close: str, inner: str = "1") -> str:
    return open_ * depth + inner + close * depth


DEEP = [
    pytest.param(lambda n: "intents: " + nested(n, "[", "]"), id="flow-lists"),
    pytest.param(lambda n: "intents: " + nested(n, "{a: ", "}"), id="flow-maps"),
    # Block nesting costs its depth squared in indentation: a thousand levels are deep enough.
    pytest.param(lambda n: "intents:\n" + "".join(" " * i + "-\n" for i in range(min(n, 1000))), id="block-lists"),
    pytest.param(lambda n: "intents:\n" + "".join(" " * i + f"k{i}:\n" for i in range(min(n, 1000))), id="block-maps"),
    pytest.param(lambda n: "a: &a [" + ",".join(["*a"] * 1) + "]\n", id="self-alias"),
    pytest.param(
        lambda n: "intents: {A: {notify: {message: hi}, speech: " + nested(n, "{en-US: ", "}", "x") + "}}",
        id="speech-locales",
    ),
    pytest.param(
        lambda n: "intents: {A: {notify: {message: '" + nested(n, "{% if x %}", "{% endif %}", "y") + "'}}}",
        id="template-blocks",
    ),
    pytest.param(
        lambda n: "intents: {A: {notify: {message: '{{ " + nested(n, "(", ")") + " }}'}}}", id="template-parens"
    ),
    pytest.param(lambda n: "intents: {A: {notify: {message: '{{ " + "-" * n + "1 }}'}}}", id="template-unary"),
    pytest.param(lambda n: "intents: {A: {notify: {message: '{{ x" + "|e" * n + " }}'}}}", id="template-filters"),
    pytest.param(lambda n: "intents: {A: {notify: {message: '{{ " + "x." * n + "y }}'}}}", id="template-attrs"),
]


@pytest.mark.parametrize("depth", [50, 1000, 20_000])
@pytest.mark.parametrize("make", DEEP)
def test_deep_nesting_is_a_config_error_not_a_recursion_error(make: Callable[[int], str], depth: int):
    try:
        parse_intent_map(make(depth), "deep.yaml")
    except ConfigError as err:
        assert err.problems
