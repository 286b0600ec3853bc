"""Rendering: slot values are data, templates are sandboxed, limits hold."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

import pytest

from skill.errors import RenderError
from skill.render import (
    SlotValue,
    build_context,
    compile_template,
    render_notification,
    render_speech,
    truncate,
)
from skill.ssml import escape_markup
from tests.helpers import parse


def notification(text: str, intent: str = "A"):
    return parse(text).intents[intent].notifications[0]


def context(**slots: str | None):
    return build_context({k: SlotValue(k, v) for k, v in slots.items()}, intent_name="A", locale="en-US", now=1000)


def test_slot_values_are_data_never_templates():
    spec = notification('intents: {A: {notify: {message: "Hi {{ User }}"}}}')
    for spoken in ("{{ 7*7 }}", "{% for x in range(9) %}x{% endfor %}", "{{ ''.__class__ }}"):
        rendered = render_notification(spec, context(User=spoken), "en-US")
        assert rendered.message.message == f"Hi {spoken}"


def test_missing_slot_renders_default_or_empty_never_none():
    imap = parse(
        """
        intents:
          A:
            slots:
              Item: {default: something}
              Room: AMAZON.Room
            notify: {message: "[{{ Item }}] [{{ Room }}] [{{ Room_Id }}]"}
        """
    )
    spec = imap.intents["A"]
    ctx = build_context({"Room": SlotValue("Room", None)}, spec.defaults())
    assert render_notification(spec.notifications[0], ctx, None).message.message == "[something] [] []"


def test_context_keeps_case_maps_dots_and_gives_ids():
    ctx = build_context({"Device.Name": SlotValue("Device.Name", "pixel three", "pixel3", "PX3")})
    assert ctx["Device_Name"] == "pixel3"
    assert ctx["Device_Name_Id"] == "PX3"
    assert "device_name" not in ctx


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ range.__self__ }}",
    ],
)
def test_templates_cannot_escape_the_sandbox(source):
    template = compile_template(source)
    try:
        out = template.render({})
    except RenderError as err:
        assert "sandbox" in str(err) or "template failed" in str(err)
    else:
        assert "class" not in out and "module" not in out and "builtins" not in out


def test_long_message_is_truncated_with_an_ellipsis():
    spec = notification('intents: {A: {notify: {message: "{{ Text }}"}}}')
    rendered = render_notification(spec, context(Text="x" * 2000), None)
    assert len(rendered.message.message) == 1024
    assert rendered.message.message.endswith("…")
    assert truncate("short", 10) == "short"


@pytest.mark.parametrize(
    ("field", "limit", "words"),
    [("title", 250, "title"), ("url", 512, "link"), ("url_title", 100, "link title")],
)
def test_other_overlong_fields_are_errors_in_plain_words(field, limit, words):
    spec = notification(f'intents: {{A: {{notify: {{message: hi, {field}: "{{{{ Text }}}}"}}}}}}')
    with pytest.raises(RenderError, match=f"the {words} is longer than Pushover allows \\({limit} characters\\)"):
        render_notification(spec, context(Text="y" * (limit + 1)), None)


def test_literal_fields_render_as_written_and_per_locale_fields_per_request():
    """One literal text is worked out once (TemplateField.constant); a text per locale is still picked each time."""
    spec = notification(
        """
        intents:
          A:
            notify:
              message: {en-US: " Hello ", de-DE: " Hallo "}
              title: "  Home  "
              sound: "{{ Sound }}"
              target: " pixel, phone "
        """
    )
    assert spec.fields["title"].constant == "  Home  " and all(t.constant is not None for t in spec.targets)
    assert spec.fields["message"].constant is None and spec.fields["sound"].constant is None
    for _ in range(2):  # the second time from what the first worked out
        english = render_notification(spec, context(Sound="bike"), "en-US").message
        german = render_notification(spec, context(Sound=""), "de-DE").message
        assert (english.message, english.title, english.sound, english.devices) == ("Hello", "Home", "bike",
                                                                                    ("pixel", "phone"))  # fmt: skip
        assert (german.message, german.title, german.sound, german.devices) == ("Hallo", "Home", None,
                                                                               ("pixel", "phone"))  # fmt: skip


def test_numbers_from_templates_and_timestamp_now():
    spec = notification(
        """
        intents:
          A:
            notify:
              message: hi
              priority: "{{ Level }}"
              timestamp: now
        """
    )
    rendered = render_notification(spec, context(Level="1"), None)
    assert rendered.message.priority == 1
    assert rendered.message.timestamp == 1000
    with pytest.raises(RenderError, match="priority came out as 'loud'"):
        render_notification(spec, context(Level="loud"), None)
    with pytest.raises(RenderError, match="between -2 and 2"):
        render_notification(spec, context(Level="7"), None)


def test_emergency_gets_a_default_tag_from_the_intent():
    spec = notification(
        "intents: {PanicIntent: {notify: {message: hi, priority: 2, retry: 30, expire: 60}}}", "PanicIntent"
    )
    rendered = render_notification(spec, context(), None, intent_name="PanicIntent")
    assert rendered.message.tags == "alexa-panicintent"


def test_plain_speech_with_markup_characters_is_valid_ssml():
    template = compile_template("Sent {{ Text }} to {{ Who }}")
    body = render_speech(template, {"Text": "fish & chips <b>", "Who": 'Tom "T" O\'Neil'})
    ET.fromstring(f"<speak>{body}</speak>")
    assert body == 'Sent fish &amp; chips &lt;b&gt; to Tom "T" O\'Neil'


def test_ssml_speech_keeps_its_markup_and_escapes_values():
    template = compile_template('<say-as interpret-as="spell-out">{{ Code }}</say-as> done', ssml=True)
    body = render_speech(template, {"Code": "a<b&c"})
    root = ET.fromstring(f"<speak>{body}</speak>")
    assert root.find("say-as").text == "a<b&c"


def test_unknown_names_render_empty():
    assert compile_template("[{{ nothing }}][{{ nothing.deeper }}]").render({}) == "[][]"


# --------------------------------------------------------------------------- speaker_name: Alexa's name tag, safely

PERSON = "amzn1.ask.person.PAULUS0001"
#: What a person could say to try to put markup into the answer.
INJECTIONS = ('<audio src="https://evil.example/a.mp3"/>', '"/><break time="10s"/>', "</speak><speak>", "&amp;")


def speaker_context(said: str, person_id: str = PERSON):
    from skill.people import People, PersonSpec

    people = People({"paulus": PersonSpec("paulus", (PERSON,), "PAULUS_PUSHOVER_USER")})
    names = people.identify(person_id, "amzn1.ask.device.KITCHEN").template_names()
    return build_context({"Text": SlotValue("Text", said)}, names=names)


@pytest.mark.parametrize("said", INJECTIONS)
@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("Hi {{ speaker_name }}, I noted: {{ Text }} & more", {"speech": True}),
        ("Hi {{ speaker_name }}, <break time='1s'/> {{ Text }}", {"ssml": True}),
        ("{% autoescape false %}Hi {{ speaker_name }} {{ Text }}{% endautoescape %}", {"speech": True}),
        ("{% autoescape false %}Hi {{ speaker_name }} {{ Text }}{% endautoescape %}", {"ssml": True}),
        ("{{ speaker_name ~ Text }} {{ [speaker_name, Text] | join(' ') }}", {"speech": True}),
        ("{{ Text | replace('a', Text) }} {{ Text }}", {"ssml": True}),
    ],
)  # fmt: skip
def test_speaker_name_is_alexas_tag_and_nothing_said_becomes_markup(source, kind, said):
    ssml = render_speech(compile_template(source, **kind), speaker_context(said))
    root = ET.fromstring(f'<speak xmlns:alexa="urn:alexa">{ssml}</speak>')
    tags = [el.tag for el in root.iter()][1:]
    assert set(tags) <= {"{urn:alexa}name", "break"}, ssml
    assert said in "".join(root.itertext())  # heard as the words it was
    names = [el for el in root.iter("{urn:alexa}name")]
    assert all(el.attrib == {"type": "first", "personId": PERSON} for el in names)


def test_plain_speech_text_is_escaped_once_and_no_safe_filter():
    template = compile_template("Fish & chips for {{ speaker_name }} in the {{ room }} <3", speech=True)
    assert render_speech(template, speaker_context("x")) == (
        f'Fish &amp; chips for <alexa:name type="first" personId="{PERSON}"/> in the  &lt;3'
    )
    with pytest.raises(Exception, match="safe"):
        compile_template("{{ Text | safe }}", speech=True)
    with pytest.raises(Exception, match="safe"):
        compile_template("{{ Text | safe }}", ssml=True)


def test_speaker_name_outside_speech_is_the_persons_key_and_empty_without_a_voice():
    assert compile_template("from {{ speaker_name }}").render(speaker_context("x")) == "from paulus"
    assert render_speech(compile_template("Hi {{ speaker_name }}.", speech=True), speaker_context("x", "")) == "Hi ."


@pytest.mark.parametrize(
    "text", ["", "plain", "a & b < c > d", "\"quoted\" and 'single'", "&amp; already", "<x y='1'>"]
)
def test_markup_is_escaped_as_the_standard_library_escapes_it(text: str):
    assert escape_markup(text) == html.escape(text, quote=False)
    assert escape_markup(text, quote=True) == html.escape(text, quote=True)
