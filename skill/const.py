"""Constants shared by every module: Pushover's limits, timeouts, defaults."""

from __future__ import annotations

import re
from typing import Final

VERSION: Final = "0.1.0"

#: Pushover Message API, https://pushover.net/api
DEFAULT_PUSHOVER_API_URL: Final = "https://api.pushover.net/1"
MAX_MESSAGE_CHARS: Final = 1024
MAX_TITLE_CHARS: Final = 250
MAX_URL_CHARS: Final = 512
MAX_URL_TITLE_CHARS: Final = 100
MAX_ATTACHMENT_BYTES: Final = 5_242_880
MAX_USER_KEYS: Final = 50
MIN_PRIORITY: Final = -2
MAX_PRIORITY: Final = 2
EMERGENCY_PRIORITY: Final = 2
MIN_RETRY_S: Final = 30
MAX_EXPIRE_S: Final = 10800
MAX_TAGS_CHARS: Final = 255
#: Device names: https://pushover.net/api#identifiers
DEVICE_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,25}$")
#: Keys and tokens are 30 characters of [A-Za-z0-9].
KEY_RE: Final = re.compile(r"^[A-Za-z0-9]{30}$")

#: Sounds every account has: https://pushover.net/api#sounds
BUILTIN_SOUNDS: Final = frozenset(
    {
        "pushover", "bike", "bugle", "cashregister", "classical", "cosmic", "falling",
        "gamelan", "incoming", "intermission", "magic", "mechanical", "pianobar", "siren",
        "spacealarm", "tugboat", "alien", "climb", "persistent", "echo", "updown",
        "vibrate", "none",
    }
)  # fmt: skip

#: Alexa waits about 8 s for an answer; every outbound call fits inside that.
DEFAULT_CONNECT_TIMEOUT_S: Final = 2.0
DEFAULT_READ_TIMEOUT_S: Final = 4.0
#: Every Alexa request is answered within this many seconds of arriving, whatever Pushover does.
ANSWER_DEADLINE_S: Final = 6.5
#: A send nobody waits for (the outbox, or one still running after the answer) waits this long for
#: Pushover's answer: a slow Pushover that accepts late still answers it, so it is not sent again.
BACKGROUND_READ_TIMEOUT_S: Final = 60.0
#: Alexa refuses output speech (the whole SSML, ``<speak>`` included) longer than this.
MAX_SPEECH_CHARS: Final = 8000
#: A retry of a transient failure never comes sooner than this.
MIN_RETRY_INTERVAL_S: Final = 5.0
DEFAULT_OUTBOX_MAX_AGE_S: Final = 3600.0
DEVICE_CACHE_TTL_S: Final = 300.0

#: Alexa request verification, https://developer.amazon.com/en-US/docs/alexa/custom-skills/host-a-custom-skill-as-a-web-service.html
ALEXA_CERT_HOST: Final = "s3.amazonaws.com"
ALEXA_CERT_PATH_PREFIX: Final = "/echo.api/"
ALEXA_CERT_SAN: Final = "echo-api.amazon.com"
MAX_TIMESTAMP_SKEW_S: Final = 150
MAX_EVENT_TIMESTAMP_SKEW_S: Final = 3600
MAX_BODY_BYTES: Final = 128 * 1024

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 5000
DEFAULT_INTENT_MAP: Final = "intents.yaml"
DEFAULT_OUTBOX_PATH: Final = "outbox.sqlite3"
DEFAULT_LOCALE: Final = "en-US"
DEFAULT_NOTIFIER: Final = "notify"
#: The deviceId in the envelopes that ``simulate`` and the dashboard's "try it" make up: no Echo of
#: anyone's, so it is never logged or listed as an Echo without a room.
SIMULATED_DEVICE_ID: Final = "amzn1.ask.device.SIMULATED"
