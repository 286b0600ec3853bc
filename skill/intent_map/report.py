"""What ``check`` tells about a pasted Home Assistant file: the blocks used and ignored, and every entry's fate."""

from __future__ import annotations

from .spec import IntentMap


def describe_sources(imap: IntentMap) -> list[str]:
    """One line each: the blocks used, the blocks ignored, then every Home Assistant entry (none for our form)."""
    if imap.form == "native":
        return []
    lines = [f"used: {', '.join(imap.blocks_used) or 'nothing'}"]
    if imap.blocks_ignored:
        lines.append(f"ignored: {', '.join(imap.blocks_ignored)}")
    for entry in imap.entries:
        where = f" (line {entry.pos.line})" if entry.pos else ""
        why = f": {entry.why}" if entry.why else ""
        lines.append(f"{entry.block} {entry.name}{where}: {entry.became}{why}")
    return lines


def launch_skill_id(imap: IntentMap, skill_id: str | None) -> str | None:
    """Whose LaunchRequest ``simulate --launch`` plays: ALEXA_SKILL_ID, else the map's first launch answer."""
    return skill_id or next(iter(imap.launch_answers), None)
