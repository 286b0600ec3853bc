"""Settings from the environment, and secrets that never show."""

from __future__ import annotations

import logging

import pytest

from skill.config import Credentials, load_settings, mask
from skill.errors import ConfigError
from skill.logs import JsonFormatter, RedactSecrets

TOKEN = "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
USER = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"


def test_defaults_without_environment():
    settings = load_settings({})
    assert settings.intent_map_path == "intents.yaml"
    assert settings.pushover_api_url == "https://api.pushover.net/1"
    assert settings.dry_run and settings.credentials is None
    assert settings.missing_credentials == ["PUSHOVER_TOKEN", "PUSHOVER_USER"]
    assert settings.alexa_verify is True and settings.alexa_skill_id is None
    assert settings.outbox_path == "outbox.sqlite3"


def test_full_environment():
    settings = load_settings(
        {
            "PUSHOVER_TOKEN": TOKEN,
            "PUSHOVER_USER": USER,
            "PUSHOVER_API_URL": "http://127.0.0.1:9/1/",
            "ATTACHMENT_DIRS": "/srv/a:/srv/b",
            "ALEXA_SKILL_ID": "amzn1.ask.skill.x",
            "ALEXA_VERIFY": "0",
            "INTENT_MAP": "/config/intents.yaml",
            "LOG_FORMAT": "json",
        }
    )
    assert not settings.dry_run
    assert settings.credentials == Credentials(TOKEN, USER)
    assert settings.pushover_api_url == "http://127.0.0.1:9/1"
    assert settings.attachment_dirs == ("/srv/a", "/srv/b")
    assert settings.alexa_verify is False
    assert settings.log_format == "json"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALEXA_VERIFY": "perhaps"}, "ALEXA_VERIFY must be 0 or 1, not 'perhaps'"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be 'json' or unset, not 'xml'"),
        ({"OUTBOX_MAX_AGE_S": "soon"}, "OUTBOX_MAX_AGE_S must be a number, not 'soon'"),
        ({"PUSHOVER_READ_TIMEOUT_S": "-1"}, "PUSHOVER_READ_TIMEOUT_S must be positive, not '-1'"),
    ],
)
def test_bad_values_are_one_clear_error(env, message):
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert str(info.value) == message


def test_secrets_are_masked_in_reprs():
    settings = load_settings({"PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER})
    for text in (repr(settings), str(settings), repr(settings.credentials), mask(TOKEN)):
        assert TOKEN not in text and USER not in text
    assert mask(None) == "<unset>"


def test_redaction_filter_is_a_last_line_of_defence():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s user=%s", (TOKEN, USER), None)
    RedactSecrets([TOKEN, USER, None]).filter(record)
    assert record.getMessage() == "token=*** user=***"


def test_json_log_lines_carry_extra_fields():
    record = logging.LogRecord("skill.alexa", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.intent = "LocateIntent"
    line = JsonFormatter().format(record)
    import json

    data = json.loads(line)
    assert data["message"] == "hello you" and data["intent"] == "LocateIntent" and data["level"] == "INFO"
