"""Logging set-up: human-readable lines by default, one JSON object per line with LOG_FORMAT=json.

A filter on the root handler replaces any configured secret with ``***`` as a last line of
defence; the code never logs secrets on purpose.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable
from typing import TextIO

#: Characters that would end a text log line, or hide what follows: shown escaped instead.
_LINE_BREAKING_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")

#: Attributes every LogRecord has; anything else came in through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines, one per record: a line break in the message (from an intent name, a slot, a
    header) is written as ``\\n``, so nothing a client sends can forge a log line. A traceback
    still follows on its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _LINE_BREAKING_RE.sub(lambda m: repr(m.group())[1:-1], record.message)
        return super().formatMessage(record)


class RedactSecrets(logging.Filter):
    """Replace each secret by ``***`` in the formatted message and arguments."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, None
        return True


def configure_logging(
    log_format: str = "text",
    *,
    level: int = logging.INFO,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> None:
    """Set up the root logger once for a command-line run or the server (``stream``: default stderr)."""
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # requests/urllib3 log full URLs at DEBUG; receipts and tokens can appear in query strings.
    logging.getLogger("urllib3").setLevel(max(level, logging.INFO))
