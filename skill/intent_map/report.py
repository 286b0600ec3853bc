"""What ``check`` tells about a pasted Home Assistant file: the blocks used and ignored, and every entry's fate."""

from __future__ import annotations

from ..phrases import counted
from .names import SESSION_ENDED_SUFFIX
from .spec import IntentMap, IntentSpec


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


def count_entries(imap: IntentMap) -> str:
    """The counts of ``check``'s summary: intents, launch answers, session ends, and every notification they send.

    Launch answers and session ends send notifications too; where the map has any, the total is split by kind.
    """
    kinds: list[tuple[str, list[IntentSpec]]] = [("intents", list(imap.intents.values()))]
    if imap.launch_answers:
        kinds.append(("launch answers", list(imap.launch_answers.values())))
    if imap.session_ends:
        kinds.append(("session ends", list(imap.session_ends.values())))
    sent = [sum(len(spec.notifications) for spec in specs) for _, specs in kinds]
    notifications = counted(sum(sent), "notification")
    if len(kinds) > 1:
        notifications += f" ({', '.join(f'{n} from {many}' for n, (many, _) in zip(sent, kinds, strict=True))})"
    return f"{count_specs(imap)}, {notifications}"


def count_specs(imap: IntentMap) -> str:
    """How many intents, and launch answers and session ends where the map has any ("1 intent, 1 session end")."""
    parts = [counted(len(imap.intents), "intent")]
    if imap.launch_answers:
        parts.append(counted(len(imap.launch_answers), "launch answer"))
    if imap.session_ends:
        parts.append(counted(len(imap.session_ends), "session end"))
    return ", ".join(parts)


def launch_skill_id(imap: IntentMap, skill_id: str | None) -> str | None:
    """Whose LaunchRequest ``simulate --launch`` plays: ALEXA_SKILL_ID, else the map's first launch answer."""
    return skill_id or next(iter(imap.launch_answers), None)


def session_end_skill_id(imap: IntentMap, skill_id: str | None) -> str | None:
    """Whose SessionEndedRequest ``simulate --session-ended`` plays: ALEXA_SKILL_ID, else the first session end's."""
    return skill_id or next((name.removesuffix(SESSION_ENDED_SUFFIX) for name in imap.session_ends), None)
