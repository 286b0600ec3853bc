"""Templates of text and names only render exactly as the sandboxed Jinja template renders them."""

from __future__ import annotations

import datetime as dt

import pytest

from skill.people import SpokenName
from skill.templates import compile_template

#: Put before a source, it makes a template with the same output that only Jinja can render.
STATEMENT = "{% if false %}{% endif %}"

SOURCES = [
    "The location of {{ User }} has been queried via Alexa.",
    "{{ User }}",
    "{{User}}{{ Room }}",
    "<speak>Hi {{ User }} & <break time='1s'/> in {{ Room }}</speak>",
    "a <b> & 'c' {{ User }}\n\n{% raw %}{{ not a name }}{% endraw %} {# note #}end\n",
    "{{ Missing }}|{{ User_Id }}|{{ speaker_name }}|{{ now }}|{{ count }}|{{ list }}",
]

VALUES = [
    "Paulus",
    "<speak>&amp; \"quoted\" 'single' </speak>",
    "{{ 7*7 }}{% for x in range(3) %}x{% endfor %}",
    "nul\x00 bell\x07 surrogate\ud800 end\uffff",
    "",
    None,
    42,
    ["a", "<b>"],
    SpokenName("amzn1.ask.person.ABC", "paulus"),
    SpokenName("", "<Paulus & Co>"),
]


@pytest.mark.parametrize("kind", ["text", "ssml", "speech"])
@pytest.mark.parametrize("source", SOURCES)
def test_text_and_names_render_as_jinja_does(kind, source):
    options = {"ssml": kind == "ssml", "speech": kind == "speech"}
    fast, jinja = compile_template(source, **options), compile_template(STATEMENT + source, **options)
    assert fast._names is not None and jinja._names is None  # the two ways are both taken
    assert fast.variables == jinja.variables
    for value in VALUES:
        context = {
            "User": value, "Room": value, "User_Id": value, "speaker_name": value, "count": 3,
            "list": [value], "now": dt.datetime(2026, 12, 2, 1, 2, 3, tzinfo=dt.UTC),
        }  # fmt: skip
        assert fast.render(context) == jinja.render(context), (kind, source, value)
    assert fast.render({}) == jinja.render({})


@pytest.mark.parametrize(
    "source",
    [
        "{{ User | upper }}",
        "{{ User.__class__ }}",
        "{{ User ~ 'x' }}",
        "{{ range }}",
        "{{ 'literal' }}",
        "{% if User %}{{ User }}{% endif %}",
        "{{ User if User else 'nobody' }}",
    ],
)
def test_anything_more_than_names_goes_through_the_sandbox(source):
    assert compile_template(source)._names is None
    assert compile_template(source, speech=True)._names is None


def test_a_pickled_template_finds_its_names_again_on_first_render():
    import pickle

    template = compile_template("Hi {{ User }} & co", speech=True)
    copy = pickle.loads(pickle.dumps(template))  # noqa: S301 (our own bytes, as skill/bundle.py writes them)
    assert copy._compiled is None and copy._names is None
    assert copy.render({"User": "<Paulus>"}) == "Hi &lt;Paulus&gt; &amp; co"
    assert copy._names is not None
