"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_pushover():
    """A started fake Pushover API (tests/fake_pushover.py) on 127.0.0.1, stopped after the test."""
    from tests.fake_pushover import FakePushover

    with FakePushover() as fake:
        yield fake
