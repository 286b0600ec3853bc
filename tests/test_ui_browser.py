"""The dashboard in a real browser: headless Chromium against a running ``python -m skill serve``."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests import browser
from tests.test_serve import FIXTURE, serving

PASSWORD = "browser-test-password"
HOSTILE = '<img src=x onerror="document.title=1">'
ROOT = Path(__file__).resolve().parents[1]
#: ``UPDATE_SCREENSHOT=1`` also writes the README's picture of the dashboard.
README_SCREENSHOT = ROOT / "docs" / "dashboard.png"

pytestmark = pytest.mark.skipif(
    not browser.available() and not browser.must_run(),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def chrome() -> Iterator[browser.Browser]:
    if not browser.available():
        pytest.fail("chromium and chromedriver are required in CI (.ci/run installs them)")
    with browser.Browser() as b:
        yield b


def assert_not_blank(png: bytes, name: Path) -> None:
    """A real picture: a PNG of the window's size with many colours, not one flat colour."""
    name.write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size[0] >= 800 and image.size[1] >= 600, image.size
    colors = image.getcolors(maxcolors=1 << 20) or []
    assert len(colors) > 20, f"{name}: only {len(colors)} colours"
    extrema = image.convert("L").getextrema()
    assert extrema[1] - extrema[0] > 100, f"{name}: no contrast {extrema}"


def wait_for_text(chrome: browser.Browser, css: str, wanted: str) -> str:
    """The text of ``css`` once it holds ``wanted``; read in one script call, so a page that is still
    being replaced cannot hand back an element that is gone (a stale reference)."""
    deadline = time.monotonic() + 20
    text = ""
    query = f"var e = document.querySelector({json.dumps(css)}); return e ? e.innerText : '';"
    while time.monotonic() < deadline:
        text = str(chrome.script(query) or "").strip()
        if wanted in text:
            return text
        time.sleep(0.1)
    pytest.fail(f"{css!r} never showed {wanted!r} (last: {text!r})")


def test_dashboard_in_a_real_browser(tmp_path: Path, chrome: browser.Browser) -> None:
    env = {"UI_PASSWORD": PASSWORD}
    with serving(tmp_path, "--no-verify", "--dry-run", env=env) as served:
        assert f"dashboard: {served.url}/ui" in served.stderr
        # Without credentials: the server asks for them and shows nothing of the dashboard.
        chrome.go(f"{served.url}/ui/")
        assert "Recent requests" not in chrome.source
        # "Log in" (the browser sends the password with every request, as after a login dialog).
        chrome.set_basic_auth("owner", PASSWORD)
        chrome.go(f"{served.url}/ui/")
        assert chrome.text(chrome.find("h1")) == "Status"
        assert "loaded" in chrome.text(chrome.find("#map-state"))
        assert_not_blank(chrome.screenshot(), tmp_path / "status.png")

        # A real Alexa request, then "try it" in the page.
        answer = requests.post(
            f"{served.url}/alexa", data=FIXTURE.read_bytes(), headers={"Content-Type": "application/json"}, timeout=10
        )
        assert answer.status_code == 200
        chrome.go(f"{served.url}/ui/try?intent=LocateIntent")
        chrome.type(chrome.find("#slot_User"), "Paulus")
        chrome.click(chrome.find("#run"))
        speech = wait_for_text(chrome, "#speech", "Paulus")
        assert speech == "OK, I asked Paulus's phone where it is."
        result = chrome.text(chrome.find("#result"))
        assert "Dry run: nothing was sent" in result
        assert "The location of Paulus has been queried via Alexa." in result
        png = chrome.screenshot()
        assert_not_blank(png, tmp_path / "try.png")
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            README_SCREENSHOT.write_bytes(png)

        # What a slot value holds is shown, never run.
        chrome.type(chrome.find("#slot_User"), HOSTILE)
        chrome.click(chrome.find("#run"))
        wait_for_text(chrome, "#result", "onerror")
        assert chrome.script("return document.querySelectorAll('main img').length") == 0
        assert chrome.script("return document.title") != "1"

        # Both show up in recent requests: the Echo's request and the two runs of "try it".
        chrome.go(f"{served.url}/ui/requests")
        rows = [chrome.text(r) for r in chrome.find_all("#requests tbody tr")]
        assert len(rows) == 3, rows
        assert "try it (dry run)" in rows[0] and "LocateIntent" in rows[0]
        assert "alexa" in rows[2] and "IntentRequest" in rows[2] and "200" in rows[2]
        assert all(HOSTILE not in r and "Paulus" not in r for r in rows)  # slot values hidden by default
        assert_not_blank(chrome.screenshot(), tmp_path / "requests.png")

        # The other pages render in the browser too.
        for path, heading in (("outbox", "Outbox"), ("intents", "Intents"), ("ids", "Unknown ids")):
            chrome.go(f"{served.url}/ui/{path}")
            assert chrome.text(chrome.find("h1")) == heading
