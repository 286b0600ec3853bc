"""A real headless Chromium, driven through ChromeDriver's W3C WebDriver HTTP API (no client library needed).

Debian's ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them). ``Browser`` starts
chromedriver on a free loopback port, opens one session with a fresh profile, and closes both.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Final

import requests

CHROMIUM: Final = shutil.which("chromium") or shutil.which("chromium-browser") or ""
CHROMEDRIVER: Final = shutil.which("chromedriver") or ""
ELEMENT: Final = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element reference key
START_TIMEOUT_S: Final = 30.0
#: Flags for a closed network: nothing phones home (component updates, sync, background fetches).
FLAGS: Final = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--window-size=1280,900", "--hide-scrollbars",
)  # fmt: skip


def available() -> bool:
    """True when both Chromium and ChromeDriver are installed."""
    return bool(CHROMIUM and CHROMEDRIVER)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Browser:
    """One WebDriver session in headless Chromium."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = requests.Session()
        self.http.trust_env = False
        try:
            self._wait_ready()
            caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                *FLAGS, f"--user-data-dir={self.profile}"]}}  # fmt: skip
            value = self._call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
            self.session = f"/session/{value['sessionId']}"
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if self.http.get(f"{self.base}/status", timeout=2).json()["value"]["ready"]:
                    return
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"chromedriver did not start within {START_TIMEOUT_S} s")

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"{self.base}{path}", json=payload, timeout=60)
        data = response.json()
        if response.status_code != 200:
            raise RuntimeError(f"WebDriver {method} {path}: {data.get('value')}")
        return data.get("value")

    def cdp(self, command: str, params: dict[str, Any] | None = None) -> Any:
        """A Chrome DevTools Protocol command through ChromeDriver."""
        return self._call("POST", f"{self.session}/goog/cdp/execute", {"cmd": command, "params": params or {}})

    def set_basic_auth(self, user: str, password: str) -> None:
        """Send HTTP Basic credentials with every request from now on (what a login dialog would do)."""
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.cdp("Network.enable")
        self.cdp("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {token}"}})

    def go(self, url: str) -> None:
        self._call("POST", f"{self.session}/url", {"url": url})

    @property
    def source(self) -> str:
        return str(self._call("GET", f"{self.session}/source"))

    @property
    def url(self) -> str:
        return str(self._call("GET", f"{self.session}/url"))

    def find(self, css: str) -> str:
        """The element id of the first match of a CSS selector."""
        return str(self._call("POST", f"{self.session}/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[str]:
        found = self._call("POST", f"{self.session}/elements", {"using": "css selector", "value": css})
        return [str(e[ELEMENT]) for e in found]

    def text(self, element: str) -> str:
        return str(self._call("GET", f"{self.session}/element/{element}/text"))

    def type(self, element: str, text: str) -> None:
        self._call("POST", f"{self.session}/element/{element}/clear", {})
        self._call("POST", f"{self.session}/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._call("POST", f"{self.session}/element/{element}/click", {})

    def script(self, source: str) -> Any:
        """Run a script in the page (WebDriver's own channel; the page's CSP does not apply to it)."""
        return self._call("POST", f"{self.session}/execute/sync", {"script": source, "args": []})

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        return base64.b64decode(self._call("GET", f"{self.session}/screenshot"))

    def close(self) -> None:
        try:
            if getattr(self, "session", None):
                self.http.delete(f"{self.base}{self.session}", timeout=30)
        except requests.RequestException:
            pass
        finally:
            self.driver.terminate()
            try:
                self.driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait(timeout=10)
            self.http.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def must_run() -> bool:
    """In CI the browser tests must run, not skip: a missing browser is a failure there."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}
