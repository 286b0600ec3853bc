"""Shared fixtures."""

from __future__ import annotations

import logging

import pytest

from skill.logs import JsonFormatter
from tests.fake_pushover import GROUP, TOKEN, USER


@pytest.fixture
def fake_pushover():
    """A started fake Pushover API (tests/fake_pushover.py) on 127.0.0.1, stopped after the test."""
    from tests.fake_pushover import FakePushover

    with FakePushover() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _no_proxy_from_environment(monkeypatch):
    """requests honours proxy variables; every test's traffic stays on loopback (a test may set its own)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def cameras():
    """Start HTTP "cameras" on 127.0.0.1 (tests/camera.py); all stopped after the test."""
    from tests.camera import run_cameras

    yield from run_cameras()


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI's main() configures logging for the process; give every test the state it found."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    urllib3_level = logging.getLogger("urllib3").level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(urllib3_level)


# --------------------------------------------------------------------------- no secret in any log line

#: Every credential the tests hand to the code. None of them may reach a log line, at any level.
KNOWN_TEST_SECRETS: tuple[str, ...] = (
    TOKEN,
    USER,
    GROUP,
    "bOtherAppTokenQ7w3r9t1y5u2i8o4",  # test_service: a named notifier's token
    "uOtherUserKeyP0o9i8u7y6t5r4e3w",  # test_pushover: a second user key
    "azGDORePK8gMaC0QOYAMyEEuzJnyUi",  # test_config.TOKEN
    "uQiRzpo4DXghDmr9QzzfQu27cmVRsG",  # test_config.USER
    "uPaulusUserKeyA1b2C3d4E5f6G7h8",  # test_voice_profiles: people's own user keys
    "uAnnaLenaUserKeyZ9y8X7w6V5u4T3",
)


class _LogLines(logging.Handler):
    """Formats every record it sees, as a text line and as a JSON line, at the moment it is logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._seen: set[int] = set()
        self._records: list[logging.LogRecord] = []  # keeps ids unique while the test runs
        self._text = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if id(record) in self._seen:  # attached to the root and to "skill": one record, two calls
            return
        self._seen.add(id(record))
        self._records.append(record)
        try:
            self.lines.append(self._text.format(record) + "\n" + self._json.format(record))
        except Exception as err:  # a record that cannot be formatted is still scanned as raw parts
            self.lines.append(f"{record.msg!r} {record.args!r} ({type(err).__name__})")


def _outside_pytest(handler: logging.Handler) -> bool:
    return not type(handler).__module__.startswith("_pytest")


@pytest.fixture(autouse=True)
def no_secret_in_any_log_line():
    """For every test: capture every log record at DEBUG and fail if a known secret is in one.

    The root level is lowered to DEBUG (only if it is higher) and restored afterwards. The
    collector also sits on the ``skill`` logger, so a test that calls ``configure_logging()``
    (which replaces the root handlers) is still watched. Root handlers, the root level and the
    urllib3 level that such a test changes are put back, so no handler bound to a closed
    capture stream outlives its test.
    """
    root, package, urllib3_log = logging.getLogger(), logging.getLogger("skill"), logging.getLogger("urllib3")
    saved_handlers, saved_level, saved_urllib3 = list(root.handlers), root.level, urllib3_log.level
    collector = _LogLines()
    root.addHandler(collector)
    package.addHandler(collector)
    if root.level > logging.DEBUG:
        root.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        package.removeHandler(collector)
        root.removeHandler(collector)
        for handler in list(root.handlers):
            if handler not in saved_handlers and _outside_pytest(handler):
                root.removeHandler(handler)
        for handler in saved_handlers:
            if handler not in root.handlers and _outside_pytest(handler):
                root.addHandler(handler)
        root.setLevel(saved_level)
        urllib3_log.setLevel(saved_urllib3)
    leaks = [
        line.replace(secret, "<" + secret[:4] + "…>")
        for line in collector.lines
        for secret in KNOWN_TEST_SECRETS
        if secret in line
    ]
    if leaks:
        pytest.fail("a known test secret reached the log:\n" + "\n".join(leaks[:5]), pytrace=False)


@pytest.fixture(scope="session")
def local_dynamodb():
    """The endpoint URL of a local DynamoDB-compatible server (moto's server mode, tests/local_dynamodb.py)."""
    from tests.local_dynamodb import run_local_dynamodb

    yield from run_local_dynamodb()
