"""What `simulate` prints for speech Alexa fills in itself: the speaker's name is shown, not dropped."""

from __future__ import annotations

from skill.__main__ import main
from tests.helpers import write

MAP = """\
people:
  paulus: {person_ids: [amzn1.ask.person.ABC123], user_env: PAULUS_PUSHOVER_USER}
intents:
  NoteToSelfIntent:
    samples: ["note {Text}"]
    slots: {Text: AMAZON.SearchQuery}
    notify: {to: me, message: "{{ Text }}"}
    speech: "Noted, {{ speaker_name }}."
"""


def test_simulate_shows_where_alexa_says_the_speakers_first_name(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INTENT_MAP", raising=False)
    path = write(tmp_path, MAP, "mine.yaml")
    args = [
        "simulate",
        "NoteToSelfIntent",
        "Text=milk",
        "--person",
        "amzn1.ask.person.ABC123",
        "--intent-map",
        str(path),
    ]
    assert main(args) == 0
    assert "Alexa says: Noted, [first name].\n" in capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    assert '<alexa:name type=\\"first\\" personId=\\"amzn1.ask.person.ABC123\\"/>' in capsys.readouterr().out
