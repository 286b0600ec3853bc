"""docs/web-service.md never lies about what `serve` prints at start: its banner is a real one."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.test_serve import EXAMPLE_MAP, serving

DOC = Path(__file__).parent.parent / "docs" / "web-service.md"


def shown_banner() -> list[str]:
    """The indented log lines after "The start banner says what runs"."""
    text = DOC.read_text(encoding="utf-8").split("The start banner says what runs", 1)[1]
    block = text.split("\n\n", 2)[1]
    return [line.strip() for line in block.splitlines()]


def test_the_start_banner_in_the_docs_is_what_serve_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PUSHOVER_TOKEN", "PUSHOVER_USER", "ALEXA_SKILL_ID", "ALEXA_VERIFY", "UI_PASSWORD", "INTENT_MAP"):
        monkeypatch.delenv(name, raising=False)
    with serving(tmp_path) as served:
        deadline = time.monotonic() + 10  # the banner's last line follows the one `serving` waits for
        while "stop with" not in served.stderr and time.monotonic() < deadline:
            time.sleep(0.05)
        printed = [
            re.sub(r"^\S+ \S+ ", "", line.rstrip("\n")).replace(EXAMPLE_MAP, "intents.yaml") for line in served.lines
        ]
    printed = [line.replace(f"127.0.0.1:{served.port}", "127.0.0.1:5000") for line in printed]
    shown = shown_banner()
    assert len(shown) == 3
    assert all(line in printed for line in shown), (shown, printed)
