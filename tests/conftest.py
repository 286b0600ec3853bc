"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_pushover():
    """A started fake Pushover API (tests/fake_pushover.py) on 127.0.0.1, stopped after the test."""
    from tests.fake_pushover import FakePushover

    with FakePushover() as fake:
        yield fake


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
