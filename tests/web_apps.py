"""The web service's Flask app for tests that make several (the dashboard, the emergency loop), each closed after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from skill.web import create_app, skill_of
from tests.fake_pushover import FakePushover
from tests.helpers import make_settings


@contextmanager
def app_maker(tmp_path: Path, fake: FakePushover | None = None, **defaults: Any) -> Iterator[Callable[..., Flask]]:
    """``make(fake=…, **settings)``: an app without signature checks, its outbox in ``tmp_path``, sending to
    ``fake`` (dry without one); ``defaults`` and then each call's settings override the test settings."""
    apps: list[Flask] = []

    def make(*, fake: FakePushover | None = fake, **overrides: Any) -> Flask:
        settings = make_settings(
            fake, alexa_verify=False, outbox_path=str(tmp_path / "outbox.sqlite3"), **{**defaults, **overrides}
        )
        app = create_app({"TESTING": True, "SETTINGS": settings})
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            skill_of(app).close()
