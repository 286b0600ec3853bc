"""``simulate``: one request through the skill, as Alexa would send it, without an Echo."""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..const import DEFAULT_NOTIFIER
from ..errors import ConfigError, InvalidRequestError, Problem
from ..intent_map import IntentMap, load_intent_map
from ..intent_map.report import launch_skill_id, session_end_skill_id
from .common import UsageError, error

if TYPE_CHECKING:
    from ..receipts import Receipt, ReceiptBook
    from ..service import Service

FAILED_STATUSES = {
    "refused", "quota", "unavailable", "not_configured", "render_failed", "unknown_device", "unknown_intent",
    "unknown_speaker", "unknown_person",
}  # fmt: skip


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    """Run one envelope through the skill and show what Alexa says and what would be sent."""
    from ..alexa import build_request_envelope, build_skill, invoke, resolved_slot
    from ..service import Service

    _check_request_kind(args)
    slots: dict[str, str] = {}
    for item in args.slots:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"slot values look like NAME=VALUE, not {item!r}")
        slots[name] = value
    imap = load_intent_map(settings.intent_map_path)  # refuses what check refuses
    for warning in imap.warnings:  # a warning stays a warning: shown, and the run goes on
        print(warning, file=sys.stderr)
    if args.send:
        _require_credentials(imap, settings, args.intent)
    if not args.launch and not args.session_ended:
        _note_unknown_names(imap, args.intent, slots)
    service = Service(imap, settings, dry_run=not args.send)
    service.receipts = _receipts(settings, service, send=args.send)
    try:
        skill = build_skill(service)
        who = {"person_id": args.person, **({"device_id": args.device} if args.device else {})}
        if args.launch:
            skill_id = launch_skill_id(imap, settings.alexa_skill_id)
            envelope = build_request_envelope(
                "LaunchRequest", locale=args.locale, **({"application_id": skill_id} if skill_id else {}), **who
            )
        elif args.session_ended:
            envelope = _session_ended_envelope(args, imap, settings, who)
        else:
            resolved = {name: _resolve(imap, args.intent, name, value, args.locale) for name, value in slots.items()}
            envelope = build_request_envelope(
                "IntentRequest",
                args.intent,
                {
                    n: (resolved_slot(n, v, *r) if r else v)
                    for (n, v), r in zip(slots.items(), resolved.values(), strict=True)
                },
                locale=args.locale,
                dialog_state=args.dialog_state,
                confirmation={"yes": "CONFIRMED", "no": "DENIED"}.get(args.confirm or "", "NONE"),
                **who,
            )
        try:
            result = invoke(skill, envelope)
        except InvalidRequestError as err:
            error(str(err))
            return 1
        alerts = _open_alerts(service.receipts)
    finally:
        if service.receipts is not None:
            service.receipts.store.close()
        service.close()
    notifications = [d.as_dict() for o in result.outcomes for d in o.deliveries]
    cancels = [{"tag": o.cancel_tag, "canceled": o.canceled} for o in result.outcomes if o.cancel_tag is not None]
    if args.json:
        output = {"response": result.response, "notifications": notifications, "open_alerts": alerts}
        if cancels:
            output["cancels"] = cancels
        print(json.dumps(output, indent=2, ensure_ascii=False))
    else:
        _print_simulation(result.response, notifications, cancels, dry_run=not args.send)
        if args.session_ended and not result.outcomes:
            skill_id = envelope["context"]["System"]["application"]["applicationId"]
            print(f"(nothing runs: the map has no {skill_id}.SessionEndedRequest entry)")
        for alert in alerts:
            print(f"Open alert: {alert['intent']} sent {alert['sent_at']}, repeats until {alert['expires_at']}")
    statuses = {str(o.status) for o in result.outcomes}
    return 1 if statuses & FAILED_STATUSES else 0


def _check_request_kind(args: argparse.Namespace) -> None:
    """One kind of request: an intent, ``--launch`` or ``--session-ended`` (with its ``--reason`` and ``--error``)."""
    if args.launch and args.session_ended:
        raise UsageError("--launch and --session-ended are two requests: give one")
    if (args.launch or args.session_ended) and args.intent:
        which = "--launch" if args.launch else "--session-ended"
        raise UsageError(f"{which} plays no intent: leave out {args.intent}{' and the slots' if args.slots else ''}")
    if (args.reason or args.error) and not args.session_ended:
        raise UsageError(f"{'--reason' if args.reason else '--error'} goes with --session-ended")
    if not args.launch and not args.session_ended and not args.intent:
        raise UsageError(
            "simulate needs an intent name (or --launch, or --session-ended), e.g. simulate LocateIntent User=Paulus"
        )
    if args.error and args.reason not in (None, "ERROR"):
        raise UsageError(f"--error goes with --reason ERROR, not {args.reason}")


def _session_ended_envelope(
    args: argparse.Namespace, imap: IntentMap, settings: Settings, who: dict[str, Any]
) -> dict[str, Any]:
    """The SessionEndedRequest Alexa sends when a session of the map's skill ends (why: ``--reason``, ``--error``)."""
    from ..alexa import build_request_envelope
    from ..envelope import SESSION_END_ERRORS

    skill_id = session_end_skill_id(imap, settings.alexa_skill_id)
    reason = args.reason or ("ERROR" if args.error else "USER_INITIATED")
    error = None
    if reason == "ERROR":
        kind = args.error or SESSION_END_ERRORS[0]
        error = {"type": kind, "message": f"{kind} (simulated)"}
    return build_request_envelope(
        "SessionEndedRequest", locale=args.locale, new_session=False, reason=reason, error=error,
        **({"application_id": skill_id} if skill_id else {}), **who,
    )  # fmt: skip


def _receipts(settings: Settings, service: Service, *, send: bool) -> ReceiptBook:
    """The web service's receipts (in ``OUTBOX_PATH``): kept with ``--send``; a dry run only reads an existing file."""
    from ..receipts import ReceiptBook
    from ..receipts.speech import load_zone
    from ..receipts.sqlite import SqliteReceiptStore

    # A dry run never creates the file: without one, it reads an empty store.
    path = settings.outbox_path if send or Path(settings.outbox_path).is_file() else ":memory:"
    return ReceiptBook(
        SqliteReceiptStore(path),
        client=service.client if send else None,  # a dry run asks Pushover nothing
        credentials_for=service.credentials_for,
        name_for_user_key=service.name_for_user_key,
        zone=load_zone(settings.timezone),
    )


def _open_alerts(book: ReceiptBook | None) -> list[dict[str, Any]]:
    """The alerts still repeating, as ``simulate`` shows them."""
    from ..errors import ReceiptError
    from ..receipts.speech import spoken_time

    if book is None:
        return []
    try:
        alerts: list[Receipt] = book.open_alerts()
    except ReceiptError as err:
        error(f"cannot read the open alerts: {err}")
        return []
    return [
        {
            "intent": r.intent,
            "receipt": r.receipt,
            "sent_at": spoken_time(r.sent_at, "", book.zone),
            "expires_at": spoken_time(r.expires_at, "", book.zone),
            "retry": r.retry,
            "devices": list(r.devices),
        }
        for r in alerts
    ]


def _require_credentials(imap: IntentMap, settings: Settings, intent: str | None) -> None:
    missing = list(settings.missing_credentials)
    spec = imap.intents.get(intent or "")
    default = [n for n in spec.notifications if n.notifier == DEFAULT_NOTIFIER] if spec else []
    if spec and spec.notifications and not default:
        missing = []  # every notification goes through a named notifier, with its own variables (below)
    elif default and all(n.to for n in default):
        # Each goes to a person's own key (checked when the request knows who): only the app token is needed here.
        missing = [v for v in missing if v != "PUSHOVER_USER"]
    for notification in spec.notifications if spec else []:
        notifier = imap.notifiers.get(notification.notifier)
        if notifier:
            missing += [v for v in (notifier.token_env, notifier.user_env) if not settings.environ.get(v, "").strip()]
    if missing:
        raise ConfigError(
            [Problem("", 0, 0, f"--send needs Pushover credentials; set {', '.join(dict.fromkeys(missing))}")]
        )


def _note_unknown_names(imap: IntentMap, intent: str, slots: dict[str, str]) -> None:
    """A typo in the intent or a slot name is named on stderr: the skill only hears what Alexa would send."""
    spec = imap.intents.get(intent)
    if spec is None:
        if not intent.startswith("AMAZON."):
            known = ", ".join(sorted(imap.intents)) or "none"
            print(f"note: {intent} is not an intent of {imap.path} (its intents: {known})", file=sys.stderr)
        return
    unknown = [name for name in slots if name not in spec.slots]
    if unknown and spec.slots_declared:
        known = ", ".join(spec.slots) or "none"
        print(f"note: {', '.join(unknown)}: not a slot of {intent} (its slots: {known})", file=sys.stderr)


def _resolve(imap: IntentMap, intent: str, slot: str, spoken: str, locale: str) -> tuple[str, str | None] | None:
    """Entity resolution as Alexa does it for a custom slot type: value or synonym -> (canonical, id)."""
    spec = imap.intents.get(intent)
    slot_spec = spec.slots.get(slot) if spec else None
    slot_type = imap.slot_types.get(slot_spec.type or "") if slot_spec else None
    if slot_type is None:
        return None
    wanted = " ".join(spoken.lower().split())
    for value in slot_type.pick(locale):
        if wanted in {value.value.lower(), *(s.lower() for s in value.synonyms)}:
            return value.value, value.id
    return None


def _print_simulation(
    response: dict[str, Any], notifications: list[dict[str, Any]], cancels: list[dict[str, Any]], *, dry_run: bool
) -> None:
    body = response.get("response", {})
    if dry_run and cancels and not notifications:
        print("(dry run: no alert is stopped; add --send to cancel through Pushover)")
    elif dry_run:
        print("(dry run: nothing is sent; add --send to send through Pushover)")
    speech = _spoken_text(body.get("outputSpeech"))
    print(f"Alexa says: {speech}" if speech else "Alexa says nothing.")
    reprompt = _spoken_text((body.get("reprompt") or {}).get("outputSpeech"))
    if reprompt:
        print(f"Reprompt:   {reprompt}")
    for directive in body.get("directives") or []:
        detail = directive.get("slotToElicit") or ""
        print(f"Directive:  {directive.get('type')} {detail}".rstrip())
    card = body.get("card")
    if card:
        print(f"Card:       {card.get('title', '')} / {card.get('content', '')}")
    print(f"Session:    {'ends' if body.get('shouldEndSession', True) else 'stays open'}")
    for cancel in cancels:
        done = "Pushover is not asked in a dry run" if dry_run else f"{cancel['canceled']} stopped"
        print(f"Cancel:     alerts tagged {cancel['tag']} ({done})")
    for index, note in enumerate(notifications, 1):
        via = f"to {note['to']}" if "to" in note else f"notifier {note['notifier']}"
        print(f"Notification {index} ({via}, {note['status']}):")
        for key, value in note["params"].items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            print(f"  {key}: {value}")
        for key in ("attachment_ref", "attachment_error", "request_id", "receipt", "error", "outbox_id", "note"):
            if key in note:
                print(f"  ({key.replace('_', ' ')}: {note[key]})")


def _spoken_text(speech: dict[str, Any] | None) -> str:
    if not speech:
        return ""
    text = speech.get("ssml") or speech.get("text") or ""
    text = re.sub(r"<alexa:name\b[^>]*>", "[first name]", text)  # Alexa says the recognized person's name here
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
