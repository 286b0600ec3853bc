"""Small builders shared by the core tests: maps, settings, services and one-call request runs."""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skill.alexa import Result, build_request_envelope, build_skill, invoke
from skill.config import Settings
from skill.intent_map import IntentMap, parse_intent_map
from skill.service import Service
from tests.fake_pushover import TOKEN, USER, FakePushover

#: A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def parse(text: str, path: str = "map.yaml") -> IntentMap:
    """Parse a dedented YAML intent map."""
    return parse_intent_map(textwrap.dedent(text).lstrip("\n"), path)


def make_settings(fake: FakePushover | None = None, **overrides: Any) -> Settings:
    """Settings that send to ``fake`` (or run dry when there is none)."""
    base: dict[str, Any] = {"connect_timeout_s": 1.0, "read_timeout_s": 1.0}
    if fake is not None:
        base.update(pushover_api_url=fake.url, pushover_token=TOKEN, pushover_user=USER, dry_run=False)
    else:
        base.update(dry_run=True)
    base.update(overrides)
    if overrides.get("dry_run"):
        base.setdefault("dry_run_requested", True)  # asked for, as --dry-run does
    return Settings(**base)


def make_service(text: str | IntentMap, fake: FakePushover | None = None, **overrides: Any) -> Service:
    """A Service over a map given as YAML text."""
    imap = text if isinstance(text, IntentMap) else parse(text)
    outbox = overrides.pop("outbox", None)
    return Service(imap, make_settings(fake, **overrides), outbox=outbox)


def run(
    service: Service,
    intent: str | None = None,
    slots: Mapping[str, Any] | None = None,
    *,
    request_type: str = "IntentRequest",
    **envelope: Any,
) -> Result:
    """One request through the same skill object the endpoint uses."""
    skill = build_skill(service)
    return invoke(skill, build_request_envelope(request_type, intent, slots, **envelope))


def speech(result: Result) -> str:
    """What Alexa says, as plain text."""
    return said(result.response)


def said(response: Mapping[str, Any]) -> str:
    """What Alexa says in a response envelope (a Lambda's return value, /alexa's JSON), as plain text."""
    output = response["response"].get("outputSpeech") or {}
    return html.unescape(re.sub(r"<[^>]+>", "", output.get("ssml", ""))).strip()


def write(tmp_path: Path, text: str, name: str = "intents.yaml") -> Path:
    """Write a dedented intent map to a file."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path
